// Named KV sequences ("slots") with prefix reuse, a memory cap and least-recently-used
// eviction. Each slot holds its own KV cache and the ids of the tokens cached in it, so a
// new prompt evaluates only what differs from the previous one on that slot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kv_cache.h"
#include "sampler.h"

namespace alloy {

struct Slot {
  std::string name;
  std::unique_ptr<KvCache> cache;
  // Ids at positions 0 .. cache->n_filled() - 1. Invariant: tokens.size() == n_filled().
  std::vector<int32_t> tokens;
  // tokens.size() as of the last finished step: what stats() report while a step runs
  // (the worker publishes it under the scheduler's lock).
  int n_published = 0;
  uint64_t last_used = 0;  // pool tick of the last acquire
  bool busy = false;       // a request is running on it: never evicted
  // Per-request scratch, allocated with the slot (not per request): the logits of the last
  // evaluated token (n_vocab floats) and the sampler's candidate buffers. One request runs
  // on a slot at a time.
  std::vector<float> logits;
  Sampler sampler{SamplerParams{}};
};

struct SlotShape {
  int n_layer = 0;
  int n_ctx = 0;
  int n_embd_kv = 0;
  KvType kv_type = KvType::f16;
  int n_vocab = 0;  // size of each slot's logits buffer
};

struct SlotInfo {
  std::string name;
  int n_cached = 0;
  size_t kv_bytes = 0;
  bool busy = false;
};

class SlotPool {
 public:
  // budget_bytes: cap on the KV memory of all slots together; at least one slot must fit
  // (Error(out_of_memory) otherwise, saying how much one slot needs).
  SlotPool(SlotShape shape, size_t budget_bytes);

  // KV bytes of one slot.
  size_t slot_bytes() const { return slot_bytes_; }
  size_t budget_bytes() const { return budget_bytes_; }
  size_t bytes_in_use() const { return slots_.size() * slot_bytes_; }
  uint64_t evictions() const { return evictions_; }
  int n_ctx() const { return shape_.n_ctx; }

  // The slot named `name`, marked busy and most recently used; created when missing, after
  // evicting idle slots (least recently used first) when the budget needs it. Throws
  // Error(out_of_memory) when every other slot is busy and there is no room. The reference
  // stays valid until the slot is evicted (never while busy).
  Slot& acquire(const std::string& name);
  void release(Slot& slot) { slot.busy = false; }

  std::vector<SlotInfo> snapshot() const;

 private:
  void evict_one_idle();

  SlotShape shape_;
  size_t slot_bytes_;
  size_t budget_bytes_;
  std::vector<std::unique_ptr<Slot>> slots_;
  uint64_t tick_ = 0;
  uint64_t evictions_ = 0;
};

// Rewinds `slot` to the longest common prefix of its tokens and `prompt`, but keeps at most
// prompt.size() - 2 so that the last prompt token is evaluated again (its logits are needed)
// in a step of at least two tokens: the batched kernels then compute it exactly as a fresh
// evaluation of the prompt does (see next_step_size in step_evaluator.h).
// Returns the number of reused positions.
int reuse_prefix(Slot& slot, const std::vector<int32_t>& prompt);

}  // namespace alloy
