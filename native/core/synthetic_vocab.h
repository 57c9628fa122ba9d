// A small synthetic SentencePiece-style tokenizer for random test models, in the form
// llama.cpp loads (`tokenizer.ggml.model` = "llama"): <unk> 0, <s> 1, </s> 2, the 256 byte
// tokens <0x00>..<0xFF>, then word pieces ("▁", the printable ASCII characters, and "▁a",
// "▁b", ..., "▁z", "▁aa", ...) up to the requested size. Deterministic; no external files.
#pragma once

#include "gguf_writer.h"

namespace alloy {

constexpr int kSyntheticVocabMinSize = 3 + 256;  // the special and byte tokens

// Adds every tokenizer.* key for a vocabulary of n_vocab tokens; throws
// Error(invalid_argument) if n_vocab < kSyntheticVocabMinSize.
void add_synthetic_tokenizer(GgufWriter& writer, int n_vocab);

}  // namespace alloy
