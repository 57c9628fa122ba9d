// Byte-level BPE (tokenizer.ggml.model = "gpt2"), as llama.cpp's llm_tokenizer_bpe_session:
// pre-tokenize, map every byte of a word to its GPT-2 "byte to unicode" character, merge
// adjacent symbols lowest merge rank first (leftmost on ties), then look the symbols up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bpe_merge_table.h"
#include "gguf.h"
#include "pretokenizer.h"
#include "vocab.h"

namespace alloy {

class BpeModel {
 public:
  // Reads tokenizer.ggml.merges (required: Error(missing_key / invalid_metadata)) and
  // tokenizer.ggml.pre (absent means "default"; unknown: Error(unsupported_tokenizer)).
  // The file and the vocab must outlive the model (merges are views into the mapping).
  static BpeModel load(const GgufFile& file, const Vocab& vocab);
  // Same from parts: merges are "left right" lines, rank = index (first one wins on
  // duplicates); the strings they view must outlive the model.
  BpeModel(const Vocab& vocab, PreTokenizer pre_tokenizer, const std::vector<std::string_view>& merges);

  // Tokenizes plain text (no special tokens in it) and appends the ids to out. Symbols that
  // are not in the vocab fall back, like llama.cpp, to the ids of their single bytes that are
  // tokens, and the other bytes are dropped.
  void tokenize_fragment(std::string_view text, std::vector<int32_t>& out) const;

  // The bytes a BPE token text stands for (inverse GPT-2 byte mapping, llama_decode_text): a
  // character outside the mapping becomes "[UNK_BYTE_0x<its utf-8 hex>" + token_text + "]".
  static std::string token_text_to_bytes(std::string_view token_text);
  // The GPT-2 mapping itself: the UTF-8 character that stands for `byte` (1 or 2 bytes).
  static std::string_view byte_to_token_text(uint8_t byte);

  PreTokenizer pre_tokenizer() const { return pre_tokenizer_; }
  size_t merge_count() const { return merges_.size(); }
  // Rank of merging the token texts left and right, or -1 when there is no such merge.
  int32_t merge_rank(std::string_view left, std::string_view right) const;

 private:
  struct Workspace;  // per-call scratch buffers, reused across the words of a fragment
  void tokenize_word(std::string_view word_bytes, Workspace& work, std::vector<int32_t>& out) const;

  const Vocab* vocab_;
  PreTokenizer pre_tokenizer_;
  bool ignore_merges_;
  MergeTable merges_;
  int32_t byte_ids_[256];  // id of the token that is one byte's GPT-2 character, -1 if none
};

}  // namespace alloy
