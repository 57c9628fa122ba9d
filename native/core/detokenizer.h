// Token -> text: the bytes of each token (llama.cpp's token_to_piece), joining pieces into
// text (llama_detokenize: first-piece space removal, clean_up_tokenization_spaces), and
// the UTF-8 assembly that lets a stream of pieces be shown without broken characters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "space_cleaner.h"
#include "special_tokens.h"
#include "vocab.h"

namespace alloy {

// The piece of every token as llama.cpp caches it (token_to_piece with special = true):
// CONTROL / UNKNOWN / USER_DEFINED tokens as their text; NORMAL tokens with U+2581 turned
// into ' ' (SPM, or BPE with escape_whitespaces) or through the inverse GPT-2 byte map
// (BPE); BYTE tokens <0xXX> as that byte; other types (UNUSED, UNDEFINED) as nothing.
// Throws Error(invalid_metadata) for a BYTE token whose text is too short to name a byte.
std::vector<std::string> build_token_pieces(const Vocab& vocab, const std::vector<uint32_t>& attrs,
                                            TokenizerModel model, const TextSettings& text);

// Joins pieces the way llama_detokenize(remove_special = false) does: one leading space of
// the first piece is dropped when the vocabulary adds a space prefix, and the
// clean_up_tokenization_spaces passes run when it asks for them. Output is raw bytes.
class PieceJoiner {
 public:
  explicit PieceJoiner(const TextSettings& text)
      : strip_first_space_(text.add_space_prefix), clean_(text.clean_spaces) {}
  PieceJoiner(bool strip_first_space, bool clean) : strip_first_space_(strip_first_space), clean_(clean) {}
  void push(std::string_view piece, std::string& out);
  void finish(std::string& out);

 private:
  bool strip_first_space_;
  bool clean_;
  SpaceCleaner cleaner_;
};

// Passes on only complete, valid UTF-8. An incomplete trailing sequence is held until the
// bytes that complete it arrive; a sequence that cannot be completed (bad lead byte,
// unexpected byte, overlong form, surrogate, > U+10FFFF) becomes U+FFFD, one per maximal
// invalid subpart as the Unicode standard recommends.
class Utf8Assembler {
 public:
  void push(std::string_view bytes, std::string& out);
  // End of input: an incomplete held sequence becomes U+FFFD.
  void finish(std::string& out);

 private:
  void push_byte(uint8_t byte, std::string& out);
  std::string pending_;  // lead byte plus the continuation bytes seen so far
  size_t needed_ = 0;    // total length of the sequence in pending_
};

}  // namespace alloy
