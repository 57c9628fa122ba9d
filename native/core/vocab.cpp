// Loading the token table (tokenizer.ggml.tokens / scores / token_type) from GGUF metadata.
#include "vocab.h"

#include <string>

#include "error.h"

namespace alloy {

namespace {

constexpr std::string_view kTokensKey = "tokenizer.ggml.tokens";
constexpr std::string_view kScoresKey = "tokenizer.ggml.scores";
constexpr std::string_view kTypesKey = "tokenizer.ggml.token_type";

[[noreturn]] void bad_array(std::string_view key, const std::string& what) {
  throw Error(ErrorKind::invalid_metadata, "metadata key '" + std::string(key) + "' " + what);
}

// Scores may be FLOAT32 or INT32 (llama.cpp accepts both) and must cover every token.
std::vector<float> read_scores(const GgufFile& file, size_t n_tokens) {
  const GgufValue* value = file.find(kScoresKey);
  if (value == nullptr) return {};
  if (value->type != GgufValueType::ARRAY ||
      (value->array_type != GgufValueType::FLOAT32 && value->array_type != GgufValueType::INT32)) {
    bad_array(kScoresKey, "should be an array of FLOAT32 or INT32");
  }
  std::optional<std::vector<float>> scores = value->array_as_floats();
  if (!scores || scores->size() < n_tokens) {
    bad_array(kScoresKey, "has fewer entries than there are tokens");
  }
  scores->resize(n_tokens);
  return std::move(*scores);
}

TokenType token_type_from_int(int32_t raw) {
  switch (raw) {
    case 1: return TokenType::normal;
    case 2: return TokenType::unknown;
    case 3: return TokenType::control;
    case 4: return TokenType::user_defined;
    case 5: return TokenType::unused;
    case 6: return TokenType::byte;
    default: return TokenType::undefined;  // 0 and values no converter writes
  }
}

std::vector<TokenType> read_types(const GgufFile& file, size_t n_tokens) {
  const GgufValue* value = file.find(kTypesKey);
  if (value == nullptr) return std::vector<TokenType>(n_tokens, TokenType::normal);
  if (value->type != GgufValueType::ARRAY || value->array_type != GgufValueType::INT32) {
    bad_array(kTypesKey, "should be an array of INT32");
  }
  const std::optional<std::vector<int32_t>> raw = value->array_as_ints();
  if (!raw || raw->size() < n_tokens) bad_array(kTypesKey, "has fewer entries than there are tokens");
  std::vector<TokenType> types(n_tokens);
  for (size_t i = 0; i < n_tokens; ++i) types[i] = token_type_from_int((*raw)[i]);
  return types;
}

}  // namespace

Vocab Vocab::load(const GgufFile& file) {
  const GgufValue& tokens = file.require_array(kTokensKey, GgufValueType::STRING);
  const size_t n_tokens = tokens.array_strings.size();
  if (n_tokens == 0) bad_array(kTokensKey, "is empty");
  if (n_tokens > static_cast<size_t>(INT32_MAX)) bad_array(kTokensKey, "has more tokens than ids can address");

  Vocab vocab;
  vocab.scores = read_scores(file, n_tokens);
  vocab.types = read_types(file, n_tokens);
  vocab.texts.reserve(n_tokens);
  for (size_t i = 0; i < n_tokens; ++i) {
    std::string_view text = tokens.array_strings[i];
    if (text.empty()) {
      vocab.owned_texts.push_back(std::make_shared<const std::string>("[EMPTY_" + std::to_string(i) + "]"));
      text = *vocab.owned_texts.back();
    }
    vocab.texts.push_back(text);
    // No reserve(): the bucket growth must follow llama.cpp's map (see vocab.h).
    auto [it, inserted] = vocab.text_to_id.emplace(text, static_cast<int32_t>(i));
    if (!inserted) {
      throw Error(ErrorKind::invalid_metadata, "token text '" + std::string(text) + "' appears twice (ids " +
                                                   std::to_string(it->second) + " and " + std::to_string(i) + ")");
    }
  }
  return vocab;
}

std::optional<int32_t> Vocab::find(std::string_view text) const {
  const auto it = text_to_id.find(text);
  if (it == text_to_id.end()) return std::nullopt;
  return it->second;
}

}  // namespace alloy
