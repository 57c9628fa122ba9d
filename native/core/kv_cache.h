// The KV cache of one sequence: for every layer, K and V of each evaluated position, F16 by
// default like llama.cpp (F32 on request). All of it is allocated when the context is
// created; it records how many leading positions hold valid entries, and keep_prefix() drops
// the rest so that only new tokens need evaluating.
#pragma once

#include <cstdint>
#include <memory>

#include "backend/backend.h"
#include "zeroed_pages.h"

namespace alloy {

class KvCache {
 public:
  // Room for n_ctx positions of n_layer layers with n_embd_kv (n_head_kv * head_dim) values
  // per position in K and in V. Throws Error(invalid_argument) for sizes < 1,
  // Error(out_of_memory) when the buffer cannot be allocated.
  KvCache(int n_layer, int n_ctx, int n_embd_kv, KvType type);
  // The bytes such a cache allocates (same checks as the constructor, nothing allocated).
  static size_t bytes_for(int n_layer, int n_ctx, int n_embd_kv, KvType type);
  // KvLayerView::capacity of such a cache: n_ctx rounded up to kKvCapacityAlignment.
  static int capacity_for(int n_ctx);

  int n_ctx() const { return n_ctx_; }
  KvType type() const { return type_; }
  size_t bytes() const { return bytes_; }

  // Positions 0 .. n_filled() - 1 hold valid K and V.
  int n_filled() const { return n_filled_; }
  // Marks positions [n_filled(), n_filled() + n) as written (after a successful evaluation).
  void commit(int n);
  // Forgets positions >= n (a no-op when n >= n_filled()); Error(invalid_argument) for n < 0.
  void keep_prefix(int n);

  KvLayerView layer(int il) const;

 private:
  int n_layer_;
  int n_ctx_;
  int capacity_;  // n_ctx rounded up so the attention op can pad its dot products
  int n_embd_kv_;
  KvType type_;
  size_t layer_bytes_ = 0;  // bytes of K (and of V) per layer
  size_t bytes_ = 0;
  // One zeroed, page-aligned block: layer il's K at il * 2 * layer_bytes_, its V right after.
  // Its pages stay untouched (not resident) until positions are written.
  std::unique_ptr<ZeroedPages> data_;
  int n_filled_ = 0;
};

}  // namespace alloy
