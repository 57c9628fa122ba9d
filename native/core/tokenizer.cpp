// Tokenizer facade: special-token splitting, model dispatch, BOS/EOS, pieces.
#include "tokenizer.h"

#include <algorithm>

#include "error.h"

namespace alloy {

namespace {

// isspace() in the "C" locale, which llama.cpp uses for lstrip / rstrip.
bool is_c_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

TokenizerModel model_from_name(std::string_view name) {
  if (name == "gpt2") return TokenizerModel::bpe;
  if (name == "llama") return TokenizerModel::spm;
  throw Error(ErrorKind::unsupported_tokenizer,
              "tokenizer.ggml.model '" + std::string(name) + "' is not supported (only 'gpt2' and 'llama') - choose a Qwen2.5-Coder, DeepSeek-Coder, StarCoder or Llama GGUF model");
}

}  // namespace

Tokenizer::Tokenizer(std::shared_ptr<const Vocab> vocab, TokenizerModel model)
    : vocab_(std::move(vocab)), model_(model) {}

Tokenizer Tokenizer::load(const GgufFile& file) {
  const TokenizerModel model = model_from_name(file.require_string("tokenizer.ggml.model"));
  auto vocab = std::make_shared<const Vocab>(Vocab::load(file));
  Tokenizer tokenizer(vocab, model);
  switch (model) {
    case TokenizerModel::spm: tokenizer.spm_ = std::make_shared<const SpmModel>(*vocab); break;
    case TokenizerModel::bpe: tokenizer.bpe_ = std::make_shared<const BpeModel>(BpeModel::load(file, *vocab)); break;
  }
  tokenizer.setup_ = derive_special_tokens(file, *vocab, model);
  tokenizer.pieces_ = build_token_pieces(*vocab, tokenizer.setup_.attrs, model, tokenizer.setup_.text);

  const std::vector<uint32_t>& attrs = tokenizer.setup_.attrs;
  for (int32_t id = 0; id < vocab->size(); ++id) {
    if (attrs[static_cast<size_t>(id)] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) {
      tokenizer.special_by_length_.push_back(id);
    }
  }
  // Deliberately std::sort (not stable_sort) with llama.cpp's comparator over the same
  // ascending ids: equal-length texts then end up in llama.cpp's order on the same
  // standard library, which decides overlapping matches.
  const auto text_length = [&](int32_t id) { return vocab->texts[static_cast<size_t>(id)].size(); };
  std::sort(tokenizer.special_by_length_.begin(), tokenizer.special_by_length_.end(),
            [&](int32_t a, int32_t b) { return text_length(a) > text_length(b); });
  return tokenizer;
}

void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= n_vocab()) {
    throw Error(ErrorKind::invalid_argument, "token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                                                 std::to_string(n_vocab() - 1) + ")");
  }
}

bool Tokenizer::is_eog(int32_t id) const {
  return std::binary_search(setup_.special.eog.begin(), setup_.special.eog.end(), id);
}

bool Tokenizer::is_control(int32_t id) const {
  check_id(id);
  return (setup_.attrs[static_cast<size_t>(id)] & kAttrControl) != 0;
}

std::string_view Tokenizer::token_text(int32_t id) const {
  check_id(id);
  return vocab_->texts[static_cast<size_t>(id)];
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  check_id(id);
  if (!render_special && (setup_.attrs[static_cast<size_t>(id)] & (kAttrUnknown | kAttrControl))) return {};
  return pieces_[static_cast<size_t>(id)];
}

std::string Tokenizer::detokenize(const std::vector<int32_t>& ids, bool render_special) const {
  std::string out;
  PieceJoiner joiner(setup_.text);
  for (const int32_t id : ids) joiner.push(token_to_piece(id, render_special), out);
  joiner.finish(out);
  return out;
}

// Splits one plain-text fragment on every occurrence of one special token, as llama.cpp's
// tokenizer_st_partition does: text left of a match loses trailing whitespace when the
// token has lstrip, text right of it loses leading whitespace when it has rstrip, and
// fragments emptied that way disappear.
void Tokenizer::split_fragment(std::string_view text, const Fragment& fragment, int32_t special_id,
                               std::vector<Fragment>& out) const {
  const std::string_view token = vocab_->texts[static_cast<size_t>(special_id)];
  const uint32_t attr = setup_.attrs[static_cast<size_t>(special_id)];
  size_t offset = fragment.offset;
  size_t length = fragment.length;
  while (true) {
    const size_t match = text.substr(0, offset + length).find(token, offset);
    if (match == std::string_view::npos) {
      out.push_back(Fragment{-1, offset, length});
      return;
    }
    size_t left_length = match - offset;
    if (attr & kAttrLstrip) {
      while (left_length > 0 && is_c_space(text[offset + left_length - 1])) --left_length;
    }
    if (left_length > 0) out.push_back(Fragment{-1, offset, left_length});
    out.push_back(Fragment{special_id, match, token.size()});

    const size_t end = offset + length;
    size_t right_offset = match + token.size();
    if (right_offset >= end) return;
    if (attr & kAttrRstrip) {
      while (right_offset < end && is_c_space(text[right_offset])) ++right_offset;
    }
    if (right_offset == end) return;
    length = end - right_offset;
    offset = right_offset;
  }
}

std::vector<Tokenizer::Fragment> Tokenizer::split_special_tokens(std::string_view text, bool parse_special) const {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back(Fragment{-1, 0, text.size()});
  std::vector<Fragment> next;
  for (const int32_t id : special_by_length_) {
    if (!parse_special && (setup_.attrs[static_cast<size_t>(id)] & (kAttrControl | kAttrUnknown))) continue;
    const std::string_view token = vocab_->texts[static_cast<size_t>(id)];
    const bool present = std::any_of(fragments.begin(), fragments.end(), [&](const Fragment& f) {
      return f.token < 0 && text.substr(f.offset, f.length).find(token) != std::string_view::npos;
    });
    if (!present) continue;
    next.clear();
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
      } else {
        split_fragment(text, f, id, next);
      }
    }
    fragments.swap(next);
  }
  return fragments;
}

int32_t Tokenizer::required(int32_t id, const char* what) const {
  if (id < 0) {
    throw Error(ErrorKind::invalid_metadata,
                std::string("the vocabulary asks for a ") + what + " token but defines none");
  }
  return id;
}

std::vector<int32_t> Tokenizer::tokenize(std::string_view text, bool add_special, bool parse_special) const {
  const SpecialTokens& special = setup_.special;
  std::vector<int32_t> out;
  if (add_special && special.add_bos) out.push_back(required(special.bos, "BOS"));
  // SPM puts a space before the text at the start and after every special token.
  bool after_special = true;
  for (const Fragment& f : split_special_tokens(text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
      continue;
    }
    const std::string_view plain = text.substr(f.offset, f.length);
    switch (model_) {
      case TokenizerModel::spm:
        spm_->tokenize_fragment(plain, setup_.text.add_space_prefix && after_special, out);
        break;
      case TokenizerModel::bpe:
        if (setup_.text.escape_whitespaces) {
          bpe_->tokenize_fragment(SpmModel::escape_whitespace(plain), out);
        } else {
          bpe_->tokenize_fragment(plain, out);
        }
        break;
    }
    after_special = false;
  }
  if (add_special && special.add_eos) out.push_back(required(special.eos, "EOS"));
  return out;
}

namespace {

PieceJoiner joiner_for(const TextSettings& text, StreamingDetokenizer::Mode mode) {
  switch (mode) {
    case StreamingDetokenizer::Mode::whole_text: return PieceJoiner(text);
    case StreamingDetokenizer::Mode::continuation: return PieceJoiner(false, false);
  }
  return PieceJoiner(text);
}

}  // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool render_special, Mode mode)
    : tokenizer_(&tokenizer), render_special_(render_special), joiner_(joiner_for(tokenizer.text_settings(), mode)) {}

std::string StreamingDetokenizer::push(int32_t id) {
  const std::string piece = tokenizer_->token_to_piece(id, render_special_);
  joined_.clear();
  joiner_.push(piece, joined_);
  std::string out;
  utf8_.push(joined_, out);
  return out;
}

std::string StreamingDetokenizer::finish() {
  joined_.clear();
  joiner_.finish(joined_);
  std::string out;
  utf8_.push(joined_, out);
  utf8_.finish(out);
  return out;
}

}  // namespace alloy
