// SentencePiece merge loop, following llama.cpp's llm_tokenizer_spm_session.
#include "spm.h"

#include <queue>

#include "error.h"

namespace alloy {

namespace {

constexpr std::string_view kSpaceMark = "\xe2\x96\x81";  // U+2581 LOWER ONE EIGHTH BLOCK

// Length of a UTF-8 sequence from its first byte, as llama.cpp's unicode_len_utf8 computes
// it: by the high nibble only, so a stray continuation byte counts as one character.
size_t utf8_len_from_lead(uint8_t lead) {
  static constexpr uint8_t kLengths[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLengths[lead >> 4];
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

// A run of text [offset, offset + n) in a doubly linked list of symbols; n == 0 once the
// symbol has been merged into its left neighbour.
struct Symbol {
  int prev;
  int next;
  size_t offset;
  size_t n;
};

struct Bigram {
  int left;
  int right;
  float score;
  size_t size;  // byte length of the merged text when queued; a stale entry no longer matches
};

// Highest score first; on equal scores the leftmost pair. Among live bigrams (the only ones
// acted on) no two share `left`, so this order is total and any heap yields llama.cpp's result.
struct BigramOrder {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

class SpmSession {
 public:
  SpmSession(const Vocab& vocab, const std::string& text) : vocab_(vocab), text_(text) {}

  // Returns the final symbols in order, each a token text or a run to spell as bytes.
  std::vector<Symbol> merge() {
    split_characters();
    for (int i = 1; i < static_cast<int>(symbols_.size()); ++i) try_add_bigram(i - 1, i);
    while (!queue_.empty()) {
      const Bigram bigram = queue_.top();
      queue_.pop();
      Symbol& left = symbols_[static_cast<size_t>(bigram.left)];
      Symbol& right = symbols_[static_cast<size_t>(bigram.right)];
      if (left.n == 0 || right.n == 0 || left.n + right.n != bigram.size) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols_[static_cast<size_t>(right.next)].prev = bigram.left;
      try_add_bigram(left.prev, bigram.left);
      try_add_bigram(bigram.left, left.next);
    }
    std::vector<Symbol> result;
    for (int i = symbols_.empty() ? -1 : 0; i != -1; i = symbols_[static_cast<size_t>(i)].next) {
      result.push_back(symbols_[static_cast<size_t>(i)]);
    }
    return result;
  }

 private:
  void split_characters() {
    size_t offset = 0;
    while (offset < text_.size()) {
      const size_t n = std::min(utf8_len_from_lead(static_cast<uint8_t>(text_[offset])), text_.size() - offset);
      const int index = static_cast<int>(symbols_.size());
      symbols_.push_back(Symbol{index - 1, offset + n == text_.size() ? -1 : index + 1, offset, n});
      offset += n;
    }
  }

  void try_add_bigram(int left, int right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols_[static_cast<size_t>(left)];
    const Symbol& r = symbols_[static_cast<size_t>(right)];
    const std::string_view merged(text_.data() + l.offset, l.n + r.n);
    const std::optional<int32_t> token = vocab_.find(merged);
    if (!token) return;
    queue_.push(Bigram{left, right, vocab_.score(*token), merged.size()});
  }

  const Vocab& vocab_;
  const std::string& text_;
  std::vector<Symbol> symbols_;
  std::priority_queue<Bigram, std::vector<Bigram>, BigramOrder> queue_;
};

}  // namespace

SpmModel::SpmModel(const Vocab& vocab) : vocab_(&vocab) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (int byte = 0; byte < 256; ++byte) {
    const char name[6] = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
    std::optional<int32_t> id = vocab.find(std::string_view(name, sizeof(name)));
    if (!id) {
      const char raw = static_cast<char>(byte);
      id = vocab.find(std::string_view(&raw, 1));
    }
    byte_tokens_[static_cast<size_t>(byte)] = id.value_or(-1);
  }
}

int32_t SpmModel::byte_token(uint8_t byte) const {
  const int32_t id = byte_tokens_[byte];
  if (id < 0) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    throw Error(ErrorKind::invalid_argument, std::string("the vocabulary has no token for byte 0x") +
                                                 kHex[byte >> 4] + kHex[byte & 15]);
  }
  return id;
}

void SpmModel::tokenize_fragment(std::string_view text, bool add_space_prefix, std::vector<int32_t>& out) const {
  const std::string prepared = escape_whitespace(add_space_prefix ? " " + std::string(text) : std::string(text));
  SpmSession session(*vocab_, prepared);
  // A final symbol is a token unless it is a single character the vocabulary lacks (merges
  // only ever produce tokens). llama.cpp's reverse-merge table is consulted only for
  // non-token symbols, and its keys are all tokens, so it never changes the result.
  for (const Symbol& symbol : session.merge()) {
    const std::string_view piece(prepared.data() + symbol.offset, symbol.n);
    if (const std::optional<int32_t> id = vocab_->find(piece)) {
      out.push_back(*id);
      continue;
    }
    for (const char c : piece) out.push_back(byte_token(static_cast<uint8_t>(c)));
  }
}

std::string SpmModel::escape_whitespace(std::string_view text) { return replace_all(text, " ", kSpaceMark); }

std::string SpmModel::unescape_whitespace(std::string_view text) { return replace_all(text, kSpaceMark, " "); }

}  // namespace alloy
