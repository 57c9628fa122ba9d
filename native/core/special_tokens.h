// Special tokens and per-token attributes, derived from GGUF metadata exactly as llama.cpp's
// vocabulary loader derives them: per-model defaults, tokenizer.ggml.*_token_id keys,
// add_bos/add_eos defaults per tokenizer and pre-tokenizer type, text-based detection of
// EOT/EOM/FIM tokens when their keys are absent, the end-of-generation set, and the
// "control-looking token was not control-type" override that marks those tokens CONTROL.
#pragma once

#include <cstdint>
#include <vector>

#include "gguf.h"
#include "vocab.h"

namespace alloy {

// tokenizer.ggml.model "gpt2" -> bpe, "llama" -> spm.
enum class TokenizerModel { bpe, spm };

struct SpecialTokens {
  int32_t bos = -1, eos = -1, eot = -1, pad = -1, unk = -1, fim_prefix = -1, fim_suffix = -1,
          fim_middle = -1, fim_pad = -1, fim_repo = -1, fim_sep = -1;
  bool add_bos = false, add_eos = false;
  std::vector<int32_t> eog;  // end-of-generation ids, ascending
};

// llama.cpp's llama_token_attr bits. A token can carry several (USER_DEFINED | CONTROL
// after the override above, CONTROL | RSTRIP for phi-3, ...).
enum TokenAttr : uint32_t {
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
  kAttrLstrip = 1u << 7,  // special-token match eats the whitespace before it
  kAttrRstrip = 1u << 8,  // ... and after it
};

// Text handling flags llama.cpp decides together with the special tokens.
struct TextSettings {
  bool add_space_prefix = false;    // SPM: ' ' before the text and after each special token;
                                    // detokenize drops one leading space of the first piece
  bool clean_spaces = false;        // detokenize: clean_up_tokenization_spaces passes
  bool escape_whitespaces = false;  // BPE only: ' ' <-> U+2581 (gemma4-style vocabularies)
};

struct SpecialTokenSetup {
  SpecialTokens special;
  TextSettings text;
  std::vector<uint32_t> attrs;  // TokenAttr bits per token id
};

// Throws Error(invalid_metadata) where llama.cpp refuses to load (phi-3 vocabularies
// without the tokens its attribute rules name).
SpecialTokenSetup derive_special_tokens(const GgufFile& file, const Vocab& vocab, TokenizerModel model);

}  // namespace alloy
