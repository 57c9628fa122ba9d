// Shared helpers for the tokenizer tests: tokenizers loaded once per file from
// ../shared/models, the llama.cpp test vectors (.inp / .out), and small checks.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "check.h"
#include "core/gguf.h"
#include "core/tokenizer.h"

// Models in ../shared/models that the tokenizer tests read.
inline const std::string kStories = "stories260K.gguf";
inline const std::string kQwen25 = "tiny-qwen2-e64-qwen25vocab-tied-s1-Q8_0.gguf";
inline const std::string kDsCoder = "tiny-qwen2-dscoder-s1-Q8_0.gguf";

// The five vocab-only files with llama.cpp test vectors.
inline const std::vector<std::string>& vector_vocab_names() {
  static const std::vector<std::string> names = {"llama-spm", "llama-bpe", "deepseek-coder", "qwen2", "starcoder"};
  return names;
}

inline std::string vocab_file(const std::string& name) { return "vocab/ggml-vocab-" + name + ".gguf"; }

// A tokenizer for a file under the shared models directory, loaded on first use and kept
// (with its GgufFile, which must outlive it) for the rest of the test run.
inline const alloy::Tokenizer& shared_tokenizer(const std::string& relative_path) {
  struct Loaded {
    alloy::GgufFile file;
    alloy::Tokenizer tokenizer;
  };
  static std::map<std::string, std::unique_ptr<Loaded>> cache;
  auto it = cache.find(relative_path);
  if (it == cache.end()) {
    alloy::GgufFile file = alloy::GgufFile::open(alloy_test::shared_models_dir() + "/" + relative_path);
    alloy::Tokenizer tokenizer = alloy::Tokenizer::load(file);
    it = cache.emplace(relative_path, std::unique_ptr<Loaded>(new Loaded{std::move(file), std::move(tokenizer)})).first;
  }
  return it->second->tokenizer;
}

inline std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// The test strings of a vocab: each is followed by "\n__ggml_vocab_test__\n".
inline std::vector<std::string> read_vector_inputs(const std::string& vocab_name) {
  const std::string all = read_whole_file(alloy_test::shared_models_dir() + "/" + vocab_file(vocab_name) + ".inp");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  size_t pos = 0;
  for (size_t hit = all.find(separator); hit != std::string::npos; hit = all.find(separator, pos)) {
    texts.push_back(all.substr(pos, hit - pos));
    pos = hit + separator.size();
  }
  return texts;
}

// One line of space-separated ids per test string.
inline std::vector<std::vector<int32_t>> read_vector_outputs(const std::string& vocab_name) {
  std::istringstream in(read_whole_file(alloy_test::shared_models_dir() + "/" + vocab_file(vocab_name) + ".out"));
  std::vector<std::vector<int32_t>> outputs;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ids(line);
    std::vector<int32_t> row;
    for (int32_t id; ids >> id;) row.push_back(id);
    outputs.push_back(row);
  }
  return outputs;
}

// A string with its non-ASCII and control bytes as \xNN, for failure messages.
inline std::string escaped(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out = "\"";
  for (const char c : s) {
    const auto b = static_cast<uint8_t>(c);
    if (b >= 0x20 && b < 0x7F && c != '"' && c != '\\') {
      out.push_back(c);
    } else {
      out += std::string("\\x") + hex[b >> 4] + hex[b & 15];
    }
  }
  return out + "\"";
}

inline std::ostream& operator<<(std::ostream& os, const std::vector<int32_t>& ids) {
  os << "[";
  for (size_t i = 0; i < ids.size(); ++i) os << (i ? ", " : "") << ids[i];
  return os << "]";
}

inline std::ostream& operator<<(std::ostream& os, const std::vector<std::string>& texts) {
  os << "[";
  for (size_t i = 0; i < texts.size(); ++i) os << (i ? ", " : "") << escaped(texts[i]);
  return os << "]";
}

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
inline bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint8_t low = 0x80, high = 0xBF;
    if (b < 0x80) { ++i; continue; }
    if (b >= 0xC2 && b <= 0xDF) n = 1;
    else if (b == 0xE0) { n = 2; low = 0xA0; }
    else if (b == 0xED) { n = 2; high = 0x9F; }
    else if (b >= 0xE1 && b <= 0xEF) n = 2;
    else if (b == 0xF0) { n = 3; low = 0x90; }
    else if (b == 0xF4) { n = 3; high = 0x8F; }
    else if (b >= 0xF1 && b <= 0xF3) n = 3;
    else return false;
    if (i + n >= s.size()) return false;  // the sequence is cut off
    for (size_t k = 1; k <= n; ++k) {
      const auto c = static_cast<uint8_t>(s[i + k]);
      if (c < (k == 1 ? low : 0x80) || c > (k == 1 ? high : 0xBF)) return false;
    }
    i += n + 1;
  }
  return true;
}
