// The token table of a GGUF model: token texts, scores and types, and a text -> id index.
// Texts are views into the GGUF mapping, so the GgufFile must outlive the Vocab.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gguf.h"

namespace alloy {

// tokenizer.ggml.token_type values, as llama.cpp's converters write them.
enum class TokenType : int32_t {
  undefined = 0, normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6,
};

struct Vocab {
  std::vector<std::string_view> texts;  // tokenizer.ggml.tokens
  std::vector<float> scores;            // tokenizer.ggml.scores (empty when absent)
  std::vector<TokenType> types;         // tokenizer.ggml.token_type (normal when absent)
  // Filled in id order, exactly as llama.cpp fills its token_to_id map, so that iterating
  // it visits tokens in the same order as llama.cpp does on the same standard library
  // (special_tokens.cpp relies on this when several texts compete for one role).
  std::unordered_map<std::string_view, int32_t> text_to_id;
  // Storage for texts that are not in the file: an empty token is renamed
  // "[EMPTY_<id>]" as llama.cpp does. `texts` points into these strings.
  std::vector<std::shared_ptr<const std::string>> owned_texts;

  // Reads tokens, scores and types; throws Error(missing_key / invalid_metadata), also for
  // a token text that appears twice (llama.cpp refuses such a vocabulary too).
  static Vocab load(const GgufFile& file);
  int32_t size() const { return static_cast<int32_t>(texts.size()); }
  std::optional<int32_t> find(std::string_view text) const;
  float score(int32_t id) const { return scores.empty() ? 0.0f : scores[static_cast<size_t>(id)]; }
};

}  // namespace alloy
