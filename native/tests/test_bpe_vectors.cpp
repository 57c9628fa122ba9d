// llama.cpp's tokenizer test vectors (../shared/models/vocab/*.gguf.inp / .out, made with
// add_special = false, parse_special = false) reproduced through the BPE model alone:
// Vocab::load + BpeModel::load + tokenize_fragment on each whole test string.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "check.h"
#include "core/bpe.h"
#include "core/gguf.h"
#include "core/vocab.h"

using namespace alloy;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The .inp file: every test string is followed by "\n__ggml_vocab_test__\n".
std::vector<std::string> read_inputs(const std::string& path) {
  const std::string text = read_file(path);
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t start = 0; start < text.size();) {
    const size_t end = text.find(separator, start);
    if (end == std::string::npos) break;
    inputs.push_back(text.substr(start, end - start));
    start = end + separator.size();
  }
  return inputs;
}

// The .out file: one line of space-separated ids per test string.
std::vector<std::vector<int32_t>> read_outputs(const std::string& path) {
  std::istringstream lines(read_file(path));
  std::vector<std::vector<int32_t>> outputs;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream ids(line);
    outputs.emplace_back();
    for (int32_t id; ids >> id;) outputs.back().push_back(id);
  }
  return outputs;
}

std::string ids_text(const std::vector<int32_t>& ids) {
  std::string text;
  for (int32_t id : ids) text += " " + std::to_string(id);
  return text;
}

void check_vocab(const std::string& name, PreTokenizer expected_pre) {
  const std::string base = alloy_test::shared_models_dir() + "/vocab/ggml-vocab-" + name + ".gguf";
  const GgufFile file = GgufFile::open(base);
  const Vocab vocab = Vocab::load(file);
  const BpeModel model = BpeModel::load(file, vocab);
  CHECK(model.pre_tokenizer() == expected_pre);
  const std::vector<std::string> inputs = read_inputs(base + ".inp");
  const std::vector<std::vector<int32_t>> outputs = read_outputs(base + ".out");
  CHECK_EQ(inputs.size(), 46u);
  CHECK_EQ(outputs.size(), inputs.size());
  for (size_t i = 0; i < inputs.size() && i < outputs.size(); ++i) {
    std::vector<int32_t> ids;
    model.tokenize_fragment(inputs[i], ids);
    if (ids != outputs[i]) {
      alloy_test::report_failure(__FILE__, __LINE__, name + " vector " + std::to_string(i) + ": got" + ids_text(ids) +
                                                         ", expected" + ids_text(outputs[i]));
    }
  }
}

}  // namespace

TEST_CASE("qwen2 vectors") { check_vocab("qwen2", PreTokenizer::qwen2); }
TEST_CASE("deepseek-coder vectors") { check_vocab("deepseek-coder", PreTokenizer::deepseek_coder); }
TEST_CASE("starcoder vectors") { check_vocab("starcoder", PreTokenizer::starcoder); }
TEST_CASE("llama-bpe vectors") { check_vocab("llama-bpe", PreTokenizer::llama3); }
