// Token pieces, piece joining and UTF-8 assembly (see detokenizer.h).
#include "detokenizer.h"

#include "bpe.h"
#include "error.h"
#include "spm.h"

namespace alloy {

namespace {

constexpr std::string_view kReplacementChar = "\xef\xbf\xbd";  // U+FFFD

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The byte a <0xXX> token stands for: llama.cpp reads up to two characters after "<0x" as
// hex and stops at the first non-hex one (strtol); a text shorter than "<0x" fails its load.
char byte_token_value(std::string_view text, int32_t id) {
  if (text.size() < 3) {
    throw Error(ErrorKind::invalid_metadata,
                "byte token " + std::to_string(id) + " '" + std::string(text) + "' does not name a byte");
  }
  int value = 0;
  for (const char c : text.substr(3, 2)) {
    const int digit = hex_value(c);
    if (digit < 0) break;
    value = value * 16 + digit;
  }
  return static_cast<char>(value);
}

std::string normal_piece(std::string_view text, TokenizerModel model, const TextSettings& settings) {
  switch (model) {
    case TokenizerModel::spm: return SpmModel::unescape_whitespace(text);
    case TokenizerModel::bpe:
      return settings.escape_whitespaces ? SpmModel::unescape_whitespace(text) : BpeModel::token_text_to_bytes(text);
  }
  throw Error(ErrorKind::internal, "unknown tokenizer model");
}

}  // namespace

std::vector<std::string> build_token_pieces(const Vocab& vocab, const std::vector<uint32_t>& attrs,
                                            TokenizerModel model, const TextSettings& text) {
  std::vector<std::string> pieces(vocab.texts.size());
  for (size_t id = 0; id < pieces.size(); ++id) {
    const std::string_view token = vocab.texts[id];
    const uint32_t attr = attrs[id];
    if (attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) {
      pieces[id] = std::string(token);
    } else if (attr & kAttrNormal) {
      pieces[id] = normal_piece(token, model, text);
    } else if (attr & kAttrByte) {
      pieces[id] = std::string(1, byte_token_value(token, static_cast<int32_t>(id)));
    }
  }
  return pieces;
}

void PieceJoiner::push(std::string_view piece, std::string& out) {
  if (strip_first_space_ && !piece.empty() && piece.front() == ' ') piece.remove_prefix(1);
  strip_first_space_ = false;
  if (clean_) {
    cleaner_.push(piece, out);
  } else {
    out.append(piece);
  }
}

void PieceJoiner::finish(std::string& out) {
  if (clean_) cleaner_.finish(out);
}

void Utf8Assembler::push(std::string_view bytes, std::string& out) {
  for (const char c : bytes) push_byte(static_cast<uint8_t>(c), out);
}

void Utf8Assembler::push_byte(uint8_t byte, std::string& out) {
  if (!pending_.empty()) {
    // The second byte's range depends on the lead (no overlongs, surrogates or > U+10FFFF).
    const uint8_t lead = static_cast<uint8_t>(pending_[0]);
    uint8_t low = 0x80, high = 0xBF;
    if (pending_.size() == 1) {
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    }
    if (byte >= low && byte <= high) {
      pending_.push_back(static_cast<char>(byte));
      if (pending_.size() == needed_) {
        out += pending_;
        pending_.clear();
      }
      return;
    }
    out += kReplacementChar;  // the maximal subpart so far; `byte` starts afresh
    pending_.clear();
  }
  if (byte < 0x80) {
    out.push_back(static_cast<char>(byte));
    return;
  }
  if (byte >= 0xC2 && byte <= 0xDF) {
    needed_ = 2;
  } else if (byte >= 0xE0 && byte <= 0xEF) {
    needed_ = 3;
  } else if (byte >= 0xF0 && byte <= 0xF4) {
    needed_ = 4;
  } else {
    out += kReplacementChar;
    return;
  }
  pending_.push_back(static_cast<char>(byte));
}

void Utf8Assembler::finish(std::string& out) {
  if (!pending_.empty()) out += kReplacementChar;
  pending_.clear();
}

}  // namespace alloy
