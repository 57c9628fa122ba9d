// BPE pre-tokenizers: cut a text into the "words" that BPE merges never cross, exactly like
// llama.cpp's unicode_regex_split does for each tokenizer.ggml.pre type (its hand-written
// splitters and its std::regex lists over category-collapsed text), by hand-written scanners.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "unicode.h"

namespace alloy {

enum class PreTokenizer {
  bpe_default,     // "default" or no tokenizer.ggml.pre: llama.cpp's fallback regex list
  gpt2,            // "gpt-2", "phi-2", "mpt", "olmo", ...: the GPT-2 regex
  llama3,          // "llama3", "llama-bpe", ...: letters, numbers in groups of up to 3
  qwen2,           // "qwen2", "deepseek-r1-qwen", ...: llama3's regex with single digits
  deepseek_coder,  // "deepseek-coder"
  deepseek3_llm,   // "deepseek-v3", ...
  starcoder,       // "starcoder", "refact", ...: every digit alone, then the GPT-2 regex
};

// What llama.cpp derives from the pre-tokenizer name besides the split itself. The name table
// only holds names for which these follow from the type.
struct PreTokenizerTraits {
  bool ignore_merges;    // look a whole word up in the vocab before merging it (llama3)
  bool clean_spaces;     // llama.cpp's clean_spaces (detokenization clean-up) for this name
  bool add_bos_default;  // BOS is added when tokenizer.ggml.add_bos_token is absent
};

// Maps a tokenizer.ggml.pre value to its type; throws Error(unsupported_tokenizer) naming it.
// An empty name means the key is absent, which llama.cpp treats as "default".
PreTokenizer pre_tokenizer_from_name(std::string_view pre);
std::string_view pre_tokenizer_name(PreTokenizer type);
PreTokenizerTraits pre_tokenizer_traits(PreTokenizer type);

// A text decoded into code points the way llama.cpp reads it (invalid bytes become U+FFFD, see
// decode_utf8), re-encoded as UTF-8, and cut into words. Reusable: split() keeps the buffers,
// so a long-lived instance does not allocate once it has grown to the text size.
class PreTokenizedText {
 public:
  // Throws Error(invalid_argument) for a text over 1 GiB (positions are 32-bit).
  void split(PreTokenizer type, std::string_view text);
  size_t word_count() const { return word_ends_.size(); }
  // The UTF-8 of word i (i < word_count()), a view into this object valid until the next split.
  std::string_view word(size_t i) const;

 private:
  std::string utf8_;                     // the re-encoded text
  std::vector<uint32_t> codepoints_;
  std::vector<CodepointFlags> flags_;
  std::vector<uint32_t> byte_offsets_;   // byte offset of code point i in utf8_; one extra at the end
  std::vector<uint32_t> word_ends_;      // code point index one past each word
  std::vector<uint32_t> scratch_ends_;
};

// Convenience form for tests and tools: the words of text, as llama.cpp's unicode_regex_split
// returns them with byte_encode = false.
std::vector<std::string> pre_tokenize(PreTokenizer type, std::string_view text);

}  // namespace alloy
