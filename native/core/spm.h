// llama.cpp's SentencePiece ("llama") tokenizer: the text is split into UTF-8 characters,
// adjacent pieces are merged greedily by vocabulary score (highest first, leftmost on
// ties) as long as the merged text is a token, and characters that never became a token
// fall back to their <0xXX> byte tokens.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vocab.h"

namespace alloy {

class SpmModel {
 public:
  // The vocab must outlive the model.
  explicit SpmModel(const Vocab& vocab);

  // Tokenizes one plain-text fragment (special tokens already split off by the caller):
  // prepends ' ' when `add_space_prefix`, replaces every ' ' with U+2581, then merges.
  // Throws Error(invalid_argument) for a byte that has neither a <0xXX> nor a one-byte token.
  void tokenize_fragment(std::string_view text, bool add_space_prefix, std::vector<int32_t>& out) const;

  // ' ' -> U+2581 ("\xe2\x96\x81"), and the reverse.
  static std::string escape_whitespace(std::string_view text);
  static std::string unescape_whitespace(std::string_view text);

 private:
  int32_t byte_token(uint8_t byte) const;

  const Vocab* vocab_;
  std::array<int32_t, 256> byte_tokens_{};  // -1 where the vocab has no token for the byte
};

}  // namespace alloy
