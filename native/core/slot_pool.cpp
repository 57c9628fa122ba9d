#include "slot_pool.h"

#include <algorithm>
#include <string>

#include "error.h"

namespace alloy {

namespace {

std::string mib(size_t bytes) { return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB"; }

}  // namespace

SlotPool::SlotPool(SlotShape shape, size_t budget_bytes)
    : shape_(shape),
      slot_bytes_(KvCache::bytes_for(shape.n_layer, shape.n_ctx, shape.n_embd_kv, shape.kv_type)),
      budget_bytes_(budget_bytes) {
  if (slot_bytes_ > budget_bytes_) {
    throw Error(ErrorKind::out_of_memory, "the KV memory cap (" + mib(budget_bytes_) + ") is smaller than one slot of " +
                                              std::to_string(shape.n_ctx) + " positions (" + mib(slot_bytes_) +
                                              "): raise the cap or lower the context size");
  }
}

Slot& SlotPool::acquire(const std::string& name) {
  ++tick_;
  for (const std::unique_ptr<Slot>& slot : slots_) {
    if (slot->name == name) {
      slot->busy = true;
      slot->last_used = tick_;
      return *slot;
    }
  }
  while (bytes_in_use() + slot_bytes_ > budget_bytes_) evict_one_idle();
  auto slot = std::make_unique<Slot>();
  slot->name = name;
  slot->cache = std::make_unique<KvCache>(shape_.n_layer, shape_.n_ctx, shape_.n_embd_kv, shape_.kv_type);
  slot->logits.resize(static_cast<size_t>(shape_.n_vocab));
  slot->busy = true;
  slot->last_used = tick_;
  slots_.push_back(std::move(slot));
  return *slots_.back();
}

void SlotPool::evict_one_idle() {
  auto victim = slots_.end();
  for (auto it = slots_.begin(); it != slots_.end(); ++it) {
    if (!(*it)->busy && (victim == slots_.end() || (*it)->last_used < (*victim)->last_used)) victim = it;
  }
  if (victim == slots_.end()) {
    throw Error(ErrorKind::out_of_memory, "the KV memory cap (" + mib(budget_bytes_) + ") is full and every slot is busy: "
                                          "raise the cap or wait for a request to finish");
  }
  slots_.erase(victim);
  ++evictions_;
}

std::vector<SlotInfo> SlotPool::snapshot() const {
  std::vector<SlotInfo> out;
  out.reserve(slots_.size());
  for (const std::unique_ptr<Slot>& slot : slots_) {
    out.push_back(SlotInfo{slot->name, slot->n_published, slot->cache->bytes(), slot->busy});
  }
  return out;
}

int reuse_prefix(Slot& slot, const std::vector<int32_t>& prompt) {
  const size_t limit = std::min(slot.tokens.size(), prompt.size() < 2 ? 0 : prompt.size() - 2);
  size_t n = 0;
  while (n < limit && slot.tokens[n] == prompt[n]) ++n;
  slot.cache->keep_prefix(static_cast<int>(n));
  slot.tokens.resize(n);
  return static_cast<int>(n);
}

}  // namespace alloy
