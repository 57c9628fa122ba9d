// The merge ranks of a byte-level BPE vocabulary (tokenizer.ggml.merges, rank = line index),
// built once at load for fast lookups during merging: a flat open-addressing table keyed by
// the token ids of both sides, plus a text-keyed map for the (normally absent) merges whose
// sides are not both tokens, so that lookups by id and text together equal llama.cpp's
// lookup by text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vocab.h"

namespace alloy {

class MergeTable {
 public:
  struct Merge {
    int32_t rank;    // -1: no such merge
    int32_t result;  // id of the merged text, -1 if it is not a token
  };

  // merges: "left right" lines; like llama.cpp, a line is split at its first space after the
  // first byte, and the first of duplicate lines keeps its rank. The vocab and the strings the
  // lines view must outlive the table.
  MergeTable(const Vocab& vocab, const std::vector<std::string_view>& merges);

  // Both sides are tokens (ids >= 0).
  Merge find(int32_t left, int32_t right) const;
  // At least one side is not a token.
  Merge find_text(std::string_view left, std::string_view right) const;
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint64_t key;  // kEmptyKey when unused
    Merge merge;
  };
  struct TextKey {
    std::string_view left;
    std::string_view right;
    bool operator==(const TextKey& other) const { return left == other.left && right == other.right; }
  };
  struct TextKeyHash {
    size_t operator()(const TextKey& key) const;
  };

  static constexpr uint64_t kEmptyKey = ~uint64_t{0};  // ids are < 2^31, so no real key
  static uint64_t key_of(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
  }
  size_t slot_of(uint64_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> shift_); }
  bool insert(uint64_t key, Merge merge);  // false if the key is already present

  std::vector<Slot> slots_;  // size is a power of two, at most half full
  unsigned shift_ = 64;      // 64 - log2(slots_.size())
  std::unordered_map<TextKey, Merge, TextKeyHash> text_merges_;
  size_t count_ = 0;
};

}  // namespace alloy
