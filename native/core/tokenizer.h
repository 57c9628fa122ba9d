// The tokenizer facade: loads the vocabulary of a GGUF file and reproduces llama.cpp's
// llama_tokenize / llama_token_to_piece / llama_detokenize for BPE ("gpt2") and
// SentencePiece ("llama") vocabularies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bpe.h"
#include "detokenizer.h"
#include "gguf.h"
#include "special_tokens.h"
#include "spm.h"
#include "vocab.h"

namespace alloy {

class Tokenizer {
 public:
  // Throws Error(unsupported_tokenizer) for a tokenizer.ggml.model other than "gpt2" or
  // "llama" (and, from the BPE model, an unknown pre-tokenizer), Error(missing_key /
  // invalid_metadata) for a broken vocabulary. The file must outlive the tokenizer.
  static Tokenizer load(const GgufFile& file);

  TokenizerModel model() const { return model_; }
  int32_t n_vocab() const { return vocab_->size(); }
  const SpecialTokens& special() const { return setup_.special; }
  bool is_eog(int32_t id) const;      // false for any id outside the vocabulary
  bool is_control(int32_t id) const;  // Error(invalid_argument) if id is out of range

  // llama_tokenize(text, add_special, parse_special): special-token texts are split off
  // first (CONTROL / UNKNOWN tokens only when parse_special, USER_DEFINED always, honouring
  // lstrip / rstrip), then each plain fragment goes through the model; BOS / EOS are added
  // when add_special and the vocabulary asks for them.
  std::vector<int32_t> tokenize(std::string_view text, bool add_special, bool parse_special) const;
  // llama_token_to_piece(id, special): the bytes of one token, possibly part of a UTF-8
  // character. CONTROL / UNKNOWN tokens give "" unless render_special.
  std::string token_to_piece(int32_t id, bool render_special) const;
  // llama_detokenize(ids, remove_special = false, unparse_special = render_special).
  std::string detokenize(const std::vector<int32_t>& ids, bool render_special) const;
  std::string_view token_text(int32_t id) const;

  const TextSettings& text_settings() const { return setup_.text; }

 private:
  // A piece of the input after special-token splitting: a special token, or a run of
  // plain text [offset, offset + length) of the input.
  struct Fragment {
    int32_t token;  // -1 for plain text
    size_t offset;
    size_t length;
  };

  Tokenizer(std::shared_ptr<const Vocab> vocab, TokenizerModel model);
  void check_id(int32_t id) const;
  std::vector<Fragment> split_special_tokens(std::string_view text, bool parse_special) const;
  void split_fragment(std::string_view text, const Fragment& fragment, int32_t special_id,
                      std::vector<Fragment>& out) const;
  int32_t required(int32_t id, const char* what) const;

  std::shared_ptr<const Vocab> vocab_;  // shared so the models' pointers survive moves
  TokenizerModel model_;
  SpecialTokenSetup setup_;
  std::vector<std::string> pieces_;        // token_to_piece(id, render_special = true)
  std::vector<int32_t> special_by_length_; // CONTROL / USER_DEFINED / UNKNOWN ids, longest first
  std::shared_ptr<const SpmModel> spm_;    // set for TokenizerModel::spm
  std::shared_ptr<const BpeModel> bpe_;    // set for TokenizerModel::bpe
};

// Streaming detokenization for generated tokens: push() returns only complete UTF-8 text,
// holding back an incomplete trailing sequence (and the few bytes the space clean-up may
// still change) until later tokens decide them; finish() flushes what is left, invalid
// leftovers becoming U+FFFD. Never emits a broken UTF-8 sequence; when detokenize() of the
// same ids is valid UTF-8, the concatenated output equals it.
class StreamingDetokenizer {
 public:
  enum class Mode {
    whole_text,    // the ids are a whole text: exactly llama_detokenize's output
    continuation,  // the ids continue a prompt (generation): raw pieces, as llama.cpp's
                   // server streams them - no first-space removal, no space clean-up
  };
  // The tokenizer must outlive this object.
  StreamingDetokenizer(const Tokenizer& tokenizer, bool render_special, Mode mode = Mode::whole_text);
  std::string push(int32_t id);
  std::string finish();

 private:
  const Tokenizer* tokenizer_;
  bool render_special_;
  PieceJoiner joiner_;
  Utf8Assembler utf8_;
  std::string joined_;  // scratch: joiner output awaiting UTF-8 assembly
};

}  // namespace alloy
