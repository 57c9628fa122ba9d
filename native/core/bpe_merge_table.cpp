#include "bpe_merge_table.h"

#include <functional>
#include <string>

namespace alloy {

size_t MergeTable::TextKeyHash::operator()(const TextKey& key) const {
  const size_t left = std::hash<std::string_view>()(key.left);
  const size_t right = std::hash<std::string_view>()(key.right);
  return left ^ (right + 0x9E3779B97F4A7C15ull + (left << 6) + (left >> 2));
}

MergeTable::MergeTable(const Vocab& vocab, const std::vector<std::string_view>& merges) {
  size_t capacity = 16;
  while (capacity < merges.size() * 2) capacity *= 2;
  slots_.assign(capacity, Slot{kEmptyKey, {-1, -1}});
  shift_ = 64;
  for (size_t c = capacity; c > 1; c /= 2) --shift_;

  std::string merged;
  for (size_t i = 0; i < merges.size(); ++i) {
    const std::string_view line = merges[i];
    const size_t space = line.size() > 1 ? line.find(' ', 1) : std::string_view::npos;
    if (space == std::string_view::npos) continue;  // names no pair any two symbols form
    const std::string_view left = line.substr(0, space);
    const std::string_view right = line.substr(space + 1);
    merged.assign(left).append(right);
    const Merge merge{static_cast<int32_t>(i), vocab.find(merged).value_or(-1)};
    const auto left_id = vocab.find(left);
    const auto right_id = vocab.find(right);
    const bool added = (left_id && right_id) ? insert(key_of(*left_id, *right_id), merge)
                                             : text_merges_.emplace(TextKey{left, right}, merge).second;
    if (added) ++count_;
  }
}

bool MergeTable::insert(uint64_t key, Merge merge) {
  // Terminates: the table is at most half full, so probing reaches an empty slot.
  for (size_t slot = slot_of(key);; slot = (slot + 1) & (slots_.size() - 1)) {
    if (slots_[slot].key == key) return false;
    if (slots_[slot].key == kEmptyKey) {
      slots_[slot] = Slot{key, merge};
      return true;
    }
  }
}

MergeTable::Merge MergeTable::find(int32_t left, int32_t right) const {
  const uint64_t key = key_of(left, right);
  for (size_t slot = slot_of(key);; slot = (slot + 1) & (slots_.size() - 1)) {
    if (slots_[slot].key == key) return slots_[slot].merge;
    if (slots_[slot].key == kEmptyKey) return {-1, -1};
  }
}

MergeTable::Merge MergeTable::find_text(std::string_view left, std::string_view right) const {
  if (text_merges_.empty()) return {-1, -1};
  const auto it = text_merges_.find(TextKey{left, right});
  return it == text_merges_.end() ? Merge{-1, -1} : it->second;
}

}  // namespace alloy
