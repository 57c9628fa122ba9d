// Minimal test harness for the native tests: named test cases, CHECK macros that report
// file:line and keep going, and a main() that prints a summary and exits non-zero on failure.
#pragma once

#include <cstdio>
#include <functional>
#include <sstream>
#include <string>

namespace alloy_test {

void register_test(const char* name, std::function<void()> body);
void report_failure(const char* file, int line, const std::string& what);
// Directory of ../shared/models (from the ALLOY_SHARED_MODELS environment variable).
std::string shared_models_dir();
// A scratch directory for files a test writes (created on first use).
std::string temp_dir();

struct Registrar {
  Registrar(const char* name, std::function<void()> body) { register_test(name, std::move(body)); }
};

}  // namespace alloy_test

#define ALLOY_CONCAT2(a, b) a##b
#define ALLOY_CONCAT(a, b) ALLOY_CONCAT2(a, b)
#define TEST_CASE(name)                                                              \
  static void ALLOY_CONCAT(test_fn_, __LINE__)();                                    \
  static ::alloy_test::Registrar ALLOY_CONCAT(test_reg_, __LINE__)(name, ALLOY_CONCAT(test_fn_, __LINE__)); \
  static void ALLOY_CONCAT(test_fn_, __LINE__)()

#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) ::alloy_test::report_failure(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_EQ(a, b)                                                               \
  do {                                                                               \
    /* copies, so temporaries that the arguments point into cannot dangle */       \
    const auto check_a_ = (a);                                                       \
    const auto check_b_ = (b);                                                       \
    if (!(check_a_ == check_b_)) {                                                   \
      std::ostringstream check_os_;                                                  \
      check_os_ << "CHECK_EQ(" #a ", " #b "): " << check_a_ << " != " << check_b_;   \
      ::alloy_test::report_failure(__FILE__, __LINE__, check_os_.str());             \
    }                                                                                \
  } while (0)

// Expects `stmt` to throw alloy::Error of the given kind.
#define CHECK_THROWS_KIND(stmt, expected_kind)                                       \
  do {                                                                               \
    bool check_threw_ = false;                                                       \
    try {                                                                            \
      stmt;                                                                          \
    } catch (const ::alloy::Error& check_e_) {                                       \
      check_threw_ = true;                                                           \
      if (check_e_.kind() != (expected_kind)) {                                      \
        ::alloy_test::report_failure(__FILE__, __LINE__,                             \
            std::string("wrong error kind: ") + ::alloy::error_kind_name(check_e_.kind()) + \
            " (" + check_e_.what() + "), expected " + ::alloy::error_kind_name(expected_kind)); \
      }                                                                              \
    }                                                                                \
    if (!check_threw_) ::alloy_test::report_failure(__FILE__, __LINE__, "no exception from " #stmt); \
  } while (0)
