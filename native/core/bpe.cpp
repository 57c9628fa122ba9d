#include "bpe.h"

#include <algorithm>
#include <array>

#include "error.h"
#include "unicode.h"

namespace alloy {

namespace {

// GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68 bytes
// (controls, space, 0x7F-0xA0, 0xAD) for U+0100.. in byte order.
struct ByteMapping {
  std::array<std::array<char, 2>, 256> utf8{};  // the character standing for each byte
  std::array<uint8_t, 256> utf8_length{};
  std::array<int16_t, 0x144> byte_of{};         // inverse, by code point; -1 when unmapped

  ByteMapping() {
    byte_of.fill(-1);
    uint32_t next_extra = 0x100;
    for (uint32_t byte = 0; byte < 256; ++byte) {
      const bool printable = (byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
      const uint32_t cp = printable ? byte : next_extra++;
      char buf[4];
      utf8_length[byte] = static_cast<uint8_t>(encode_utf8(cp, buf));
      utf8[byte] = {buf[0], buf[1]};
      byte_of[cp] = static_cast<int16_t>(byte);
    }
  }
};

const ByteMapping& byte_mapping() {
  static const ByteMapping mapping;
  return mapping;
}

// One symbol of a word being merged: bytes [start, start + length) of the GPT-2-encoded word
// and its token id (-1 when that text is not a token), in a doubly linked list by index. A
// symbol merged into its left neighbour keeps length 0.
struct Symbol {
  int32_t prev;
  int32_t next;
  uint32_t start;
  uint32_t length;
  int32_t id;
};

// A candidate merge of symbols left and right; `length` is their combined length when queued,
// so an entry whose symbols changed since is recognised as stale.
struct Bigram {
  int32_t rank;
  int32_t left;
  int32_t right;
  uint32_t length;
  int32_t result;  // token id of the merged text, -1 if it is not a token
};

// Heap order of llama.cpp's llm_bigram_bpe::comparator: lowest rank first, then leftmost.
bool pops_after(const Bigram& a, const Bigram& b) {
  return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
}

}  // namespace

struct BpeModel::Workspace {
  std::string encoded;
  std::vector<Symbol> symbols;
  std::vector<Bigram> queue;
};

BpeModel::BpeModel(const Vocab& vocab, PreTokenizer pre_tokenizer, const std::vector<std::string_view>& merges)
    : vocab_(&vocab),
      pre_tokenizer_(pre_tokenizer),
      ignore_merges_(pre_tokenizer_traits(pre_tokenizer).ignore_merges),
      merges_(vocab, merges) {
  for (int byte = 0; byte < 256; ++byte) {
    byte_ids_[byte] = vocab.find(byte_to_token_text(static_cast<uint8_t>(byte))).value_or(-1);
  }
}

BpeModel BpeModel::load(const GgufFile& file, const Vocab& vocab) {
  const GgufValue& merges = file.require_array("tokenizer.ggml.merges", GgufValueType::STRING);
  std::string_view pre_name;
  if (const GgufValue* pre = file.find("tokenizer.ggml.pre")) {
    const auto name = pre->as_string();
    if (!name) throw Error(ErrorKind::invalid_metadata, "tokenizer.ggml.pre is not a string");
    pre_name = *name;
  }
  return BpeModel(vocab, pre_tokenizer_from_name(pre_name), merges.array_strings);
}

int32_t BpeModel::merge_rank(std::string_view left, std::string_view right) const {
  const auto left_id = vocab_->find(left);
  const auto right_id = vocab_->find(right);
  return (left_id && right_id) ? merges_.find(*left_id, *right_id).rank : merges_.find_text(left, right).rank;
}

std::string_view BpeModel::byte_to_token_text(uint8_t byte) {
  const ByteMapping& mapping = byte_mapping();
  return std::string_view(mapping.utf8[byte].data(), mapping.utf8_length[byte]);
}

std::string BpeModel::token_text_to_bytes(std::string_view token_text) {
  const ByteMapping& mapping = byte_mapping();
  std::string bytes;
  bytes.reserve(token_text.size());
  for (size_t offset = 0; offset < token_text.size();) {
    const uint32_t cp = decode_utf8(token_text, offset);
    if (cp < mapping.byte_of.size() && mapping.byte_of[cp] >= 0) {
      bytes.push_back(static_cast<char>(mapping.byte_of[cp]));
      continue;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    char utf8[4];
    const size_t length = encode_utf8(cp, utf8);
    bytes += "[UNK_BYTE_0x";
    for (size_t i = 0; i < length; ++i) {
      const auto byte = static_cast<uint8_t>(utf8[i]);
      bytes.push_back(kHex[byte >> 4]);
      bytes.push_back(kHex[byte & 15]);
    }
    bytes.append(token_text);
    bytes.push_back(']');
  }
  return bytes;
}

void BpeModel::tokenize_fragment(std::string_view text, std::vector<int32_t>& out) const {
  PreTokenizedText words;
  words.split(pre_tokenizer_, text);
  Workspace work;
  for (size_t w = 0; w < words.word_count(); ++w) tokenize_word(words.word(w), work, out);
}

void BpeModel::tokenize_word(std::string_view word_bytes, Workspace& work, std::vector<int32_t>& out) const {
  // One symbol per byte of the word: the GPT-2 character standing for it.
  const ByteMapping& mapping = byte_mapping();
  std::string& word = work.encoded;
  std::vector<Symbol>& symbols = work.symbols;
  word.clear();
  symbols.clear();
  for (size_t i = 0; i < word_bytes.size(); ++i) {
    const auto byte = static_cast<uint8_t>(word_bytes[i]);
    const auto index = static_cast<int32_t>(i);
    const int32_t next = i + 1 == word_bytes.size() ? -1 : index + 1;
    symbols.push_back({index - 1, next, static_cast<uint32_t>(word.size()), mapping.utf8_length[byte], byte_ids_[byte]});
    word.append(mapping.utf8[byte].data(), mapping.utf8_length[byte]);
  }
  if (ignore_merges_) {
    if (const auto id = vocab_->find(word)) {
      out.push_back(*id);
      return;
    }
  }
  auto text_of = [&](const Symbol& s) { return std::string_view(word).substr(s.start, s.length); };

  std::vector<Bigram>& queue = work.queue;
  queue.clear();
  auto add_bigram = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    const MergeTable::Merge merge =
        (l.id >= 0 && r.id >= 0) ? merges_.find(l.id, r.id) : merges_.find_text(text_of(l), text_of(r));
    if (merge.rank < 0) return;
    queue.push_back({merge.rank, left, right, l.length + r.length, merge.result});
    std::push_heap(queue.begin(), queue.end(), pops_after);
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) add_bigram(i - 1, i);

  while (!queue.empty()) {
    std::pop_heap(queue.begin(), queue.end(), pops_after);
    const Bigram bigram = queue.back();
    queue.pop_back();
    Symbol& left = symbols[bigram.left];
    Symbol& right = symbols[bigram.right];
    if (left.length == 0 || right.length == 0 || left.length + right.length != bigram.length) continue;
    left.length += right.length;
    left.id = bigram.result;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = bigram.left;
    add_bigram(left.prev, bigram.left);
    add_bigram(bigram.left, left.next);
  }

  for (const Symbol& symbol : symbols) {
    if (symbol.length == 0) continue;
    if (symbol.id >= 0) {
      out.push_back(symbol.id);
      continue;
    }
    // Not a token: llama.cpp looks up each byte of the symbol's text on its own.
    const std::string_view text = text_of(symbol);
    for (size_t i = 0; i < text.size(); ++i) {
      if (const auto id = vocab_->find(text.substr(i, 1))) out.push_back(*id);
    }
  }
}

}  // namespace alloy
