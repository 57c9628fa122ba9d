#include "pretokenizer.h"

#include <string>

#include "error.h"
#include "word_splitter.h"

namespace alloy {

namespace {

struct PreTokenizerName {
  std::string_view name;
  PreTokenizer type;
};

// tokenizer.ggml.pre values, as llama.cpp's llama_vocab::impl::load maps them. Names whose
// llama.cpp entry sets flags that differ from pre_tokenizer_traits(type) are left out.
constexpr PreTokenizerName kNames[] = {
    {"default", PreTokenizer::bpe_default},
    {"gpt-2", PreTokenizer::gpt2},        {"phi-2", PreTokenizer::gpt2},
    {"mpt", PreTokenizer::gpt2},          {"olmo", PreTokenizer::gpt2},
    {"jais", PreTokenizer::gpt2},         {"gigachat", PreTokenizer::gpt2},
    {"a.x-4.0", PreTokenizer::gpt2},      {"mellum", PreTokenizer::gpt2},
    {"modern-bert", PreTokenizer::gpt2},  {"exaone4", PreTokenizer::gpt2},
    {"llama3", PreTokenizer::llama3},     {"llama-v3", PreTokenizer::llama3},
    {"llama-bpe", PreTokenizer::llama3},  {"falcon3", PreTokenizer::llama3},
    {"falcon-h1", PreTokenizer::llama3},  {"pixtral", PreTokenizer::llama3},
    {"midm-2.0", PreTokenizer::llama3},   {"lfm2", PreTokenizer::llama3},
    {"qwen2", PreTokenizer::qwen2},       {"deepseek-r1-qwen", PreTokenizer::qwen2},
    {"kormo", PreTokenizer::qwen2},       {"f2llmv2", PreTokenizer::qwen2},
    {"deepseek-coder", PreTokenizer::deepseek_coder},
    {"deepseek-v3", PreTokenizer::deepseek3_llm},
    {"hunyuan-dense", PreTokenizer::deepseek3_llm},
    {"joyai-llm", PreTokenizer::deepseek3_llm},
    {"starcoder", PreTokenizer::starcoder},  {"refact", PreTokenizer::starcoder},
    {"codeshell", PreTokenizer::starcoder},  {"exaone", PreTokenizer::starcoder},
    {"minerva-7b", PreTokenizer::starcoder}, {"mellum2", PreTokenizer::starcoder},
};

}  // namespace

PreTokenizer pre_tokenizer_from_name(std::string_view pre) {
  if (pre.empty()) return PreTokenizer::bpe_default;
  for (const auto& entry : kNames) {
    if (entry.name == pre) return entry.type;
  }
  throw Error(ErrorKind::unsupported_tokenizer, "unsupported pre-tokenizer '" + std::string(pre) + "' (tokenizer.ggml.pre; supported ones include qwen2, deepseek-coder, starcoder, refact, llama-bpe, llama3, default, gpt-2)");
}

std::string_view pre_tokenizer_name(PreTokenizer type) {
  switch (type) {
    case PreTokenizer::bpe_default: return "default";
    case PreTokenizer::gpt2: return "gpt-2";
    case PreTokenizer::llama3: return "llama3";
    case PreTokenizer::qwen2: return "qwen2";
    case PreTokenizer::deepseek_coder: return "deepseek-coder";
    case PreTokenizer::deepseek3_llm: return "deepseek-v3";
    case PreTokenizer::starcoder: return "starcoder";
  }
  return "unknown";
}

PreTokenizerTraits pre_tokenizer_traits(PreTokenizer type) {
  switch (type) {
    case PreTokenizer::bpe_default:
    case PreTokenizer::gpt2:
    case PreTokenizer::starcoder:
      return {false, true, false};
    case PreTokenizer::llama3:
      return {true, true, true};
    case PreTokenizer::qwen2:
    case PreTokenizer::deepseek_coder:
    case PreTokenizer::deepseek3_llm:
      return {false, false, false};
  }
  throw Error(ErrorKind::internal, "unhandled pre-tokenizer type");
}

void PreTokenizedText::split(PreTokenizer type, std::string_view text) {
  // Positions are 32-bit, and re-encoding can triple the size (each invalid byte -> U+FFFD).
  if (text.size() > UINT32_MAX / 3) {
    throw Error(ErrorKind::invalid_argument, "text too long to tokenize (" + std::to_string(text.size()) + " bytes)");
  }
  utf8_.clear();
  codepoints_.clear();
  flags_.clear();
  byte_offsets_.clear();
  word_ends_.clear();
  utf8_.reserve(text.size() + 8);
  for (size_t offset = 0; offset < text.size();) {
    const uint32_t cp = decode_utf8(text, offset);
    codepoints_.push_back(cp);
    flags_.push_back(CodepointFlags::of(cp));
    byte_offsets_.push_back(static_cast<uint32_t>(utf8_.size()));
    append_utf8(cp, utf8_);
  }
  byte_offsets_.push_back(static_cast<uint32_t>(utf8_.size()));
  if (codepoints_.empty()) return;
  word_ends_.push_back(static_cast<uint32_t>(codepoints_.size()));
  split_words(type, codepoints_, flags_, word_ends_, scratch_ends_);
}

std::string_view PreTokenizedText::word(size_t i) const {
  const uint32_t begin = i == 0 ? 0 : word_ends_[i - 1];
  const uint32_t end = word_ends_[i];
  return std::string_view(utf8_).substr(byte_offsets_[begin], byte_offsets_[end] - byte_offsets_[begin]);
}

std::vector<std::string> pre_tokenize(PreTokenizer type, std::string_view text) {
  PreTokenizedText words;
  words.split(type, text);
  std::vector<std::string> result;
  result.reserve(words.word_count());
  for (size_t i = 0; i < words.word_count(); ++i) result.emplace_back(words.word(i));
  return result;
}

}  // namespace alloy
