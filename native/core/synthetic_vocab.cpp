#include "synthetic_vocab.h"

#include <cstdio>
#include <string>
#include <vector>

#include "error.h"
#include "vocab.h"

namespace alloy {
namespace {

constexpr std::string_view kWordBoundary = "\xE2\x96\x81";  // U+2581, SentencePiece's space

// "a", "b", ..., "z", "aa", "ab", ...: the k-th (0-based) word in bijective base 26.
std::string base26_word(uint64_t k) {
  std::string reversed;
  for (uint64_t n = k + 1; n > 0; n = (n - 1) / 26) reversed.push_back(static_cast<char>('a' + (n - 1) % 26));
  return std::string(reversed.rbegin(), reversed.rend());
}

}  // namespace

void add_synthetic_tokenizer(GgufWriter& writer, int n_vocab) {
  if (n_vocab < kSyntheticVocabMinSize) {
    throw Error(ErrorKind::invalid_argument, "a synthetic vocabulary needs at least " +
                                                 std::to_string(kSyntheticVocabMinSize) + " tokens, not " +
                                                 std::to_string(n_vocab));
  }
  std::vector<std::string> texts;
  std::vector<int32_t> types;
  texts.reserve(static_cast<size_t>(n_vocab));
  const auto add = [&](std::string text, TokenType type) {
    texts.push_back(std::move(text));
    types.push_back(static_cast<int32_t>(type));
  };
  add("<unk>", TokenType::unknown);
  add("<s>", TokenType::control);
  add("</s>", TokenType::control);
  for (int byte = 0; byte < 256; ++byte) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", byte);
    add(name, TokenType::byte);
  }
  if (static_cast<int>(texts.size()) < n_vocab) add(std::string(kWordBoundary), TokenType::normal);
  for (char c = '!'; c <= '~' && static_cast<int>(texts.size()) < n_vocab; ++c) add(std::string(1, c), TokenType::normal);
  for (uint64_t k = 0; static_cast<int>(texts.size()) < n_vocab; ++k) {
    add(std::string(kWordBoundary) + base26_word(k), TokenType::normal);
  }
  // Pieces score by position (earlier = preferred), special and byte tokens 0.
  std::vector<float> scores(texts.size(), 0.0f);
  for (size_t i = kSyntheticVocabMinSize; i < scores.size(); ++i) scores[i] = -static_cast<float>(i - kSyntheticVocabMinSize);

  writer.add("tokenizer.ggml.model", GgufMetaValue::string("llama"));
  writer.add("tokenizer.ggml.tokens", GgufMetaValue::string_array(texts));
  writer.add("tokenizer.ggml.scores", GgufMetaValue::array(GgufValueType::FLOAT32, scores));
  writer.add("tokenizer.ggml.token_type", GgufMetaValue::array(GgufValueType::INT32, types));
  writer.add("tokenizer.ggml.unknown_token_id", GgufMetaValue::u32(0));
  writer.add("tokenizer.ggml.bos_token_id", GgufMetaValue::u32(1));
  writer.add("tokenizer.ggml.eos_token_id", GgufMetaValue::u32(2));
  writer.add("tokenizer.ggml.add_bos_token", GgufMetaValue::boolean(true));
  writer.add("tokenizer.ggml.add_eos_token", GgufMetaValue::boolean(false));
}

}  // namespace alloy
