#include "check.h"

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <vector>

namespace alloy_test {
namespace {

struct TestCase {
  const char* name;
  std::function<void()> body;
};

std::vector<TestCase>& registry() {
  static std::vector<TestCase> tests;
  return tests;
}

int g_failures_in_case = 0;

}  // namespace

void register_test(const char* name, std::function<void()> body) {
  registry().push_back({name, std::move(body)});
}

void report_failure(const char* file, int line, const std::string& what) {
  ++g_failures_in_case;
  std::fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, what.c_str());
}

std::string shared_models_dir() {
  const char* dir = std::getenv("ALLOY_SHARED_MODELS");
  return dir != nullptr ? std::string(dir) : std::string("../shared/models");
}

std::string temp_dir() {
  const char* dir = std::getenv("ALLOY_TEST_TMP");
  std::string path = dir != nullptr ? std::string(dir) : std::filesystem::temp_directory_path().string() + "/alloy-test";
  std::filesystem::create_directories(path);
  return path;
}

}  // namespace alloy_test

int main() {
  int passed = 0;
  int failed = 0;
  for (const auto& test : alloy_test::registry()) {
    alloy_test::g_failures_in_case = 0;
    try {
      test.body();
    } catch (const std::exception& e) {
      alloy_test::report_failure(test.name, 0, std::string("uncaught exception: ") + e.what());
    }
    if (alloy_test::g_failures_in_case == 0) {
      ++passed;
      std::printf("ok   %s\n", test.name);
    } else {
      ++failed;
      std::printf("FAIL %s\n", test.name);
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
