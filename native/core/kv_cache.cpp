#include "kv_cache.h"

#include <limits>
#include <string>

#include "error.h"

namespace alloy {

namespace {

struct KvLayout {
  int capacity;
  size_t layer_bytes;
};

KvLayout kv_layout(int n_layer, int n_ctx, int n_embd_kv, KvType type) {
  if (n_layer < 1 || n_ctx < 1 || n_embd_kv < 1) {
    throw Error(ErrorKind::invalid_argument, "KV cache sizes must be positive (n_ctx " + std::to_string(n_ctx) + ")");
  }
  const int64_t capacity = (static_cast<int64_t>(n_ctx) + kKvCapacityAlignment - 1) / kKvCapacityAlignment * kKvCapacityAlignment;
  if (capacity > std::numeric_limits<int>::max()) throw Error(ErrorKind::invalid_argument, "n_ctx is too large");
  const uint64_t elems = static_cast<uint64_t>(capacity) * static_cast<uint64_t>(n_embd_kv);
  const uint64_t layer_bytes = elems * kv_type_size(type);
  const uint64_t limit = std::numeric_limits<size_t>::max() / 4;
  if (layer_bytes > limit / static_cast<uint64_t>(n_layer)) {
    throw Error(ErrorKind::out_of_memory, "a KV cache of " + std::to_string(n_ctx) + " positions does not fit in memory");
  }
  return {static_cast<int>(capacity), static_cast<size_t>(layer_bytes)};
}

}  // namespace

size_t KvCache::bytes_for(int n_layer, int n_ctx, int n_embd_kv, KvType type) {
  return kv_layout(n_layer, n_ctx, n_embd_kv, type).layer_bytes * 2 * static_cast<size_t>(n_layer);
}

int KvCache::capacity_for(int n_ctx) { return kv_layout(1, n_ctx, 1, KvType::f32).capacity; }

KvCache::KvCache(int n_layer, int n_ctx, int n_embd_kv, KvType type)
    : n_layer_(n_layer), n_ctx_(n_ctx), capacity_(0), n_embd_kv_(n_embd_kv), type_(type) {
  const KvLayout layout = kv_layout(n_layer, n_ctx, n_embd_kv, type);
  capacity_ = layout.capacity;
  layer_bytes_ = layout.layer_bytes;
  bytes_ = layer_bytes_ * 2 * static_cast<size_t>(n_layer);
  try {
    data_ = std::make_unique<ZeroedPages>(bytes_);
  } catch (const Error&) {
    throw Error(ErrorKind::out_of_memory, "cannot allocate the KV cache (" + std::to_string(bytes_ >> 20) + " MiB for " +
                                              std::to_string(n_ctx) + " positions)");
  }
}

void KvCache::commit(int n) {
  if (n < 0 || n > n_ctx_ - n_filled_) throw Error(ErrorKind::internal, "KV cache commit past its size");
  n_filled_ += n;
}

void KvCache::keep_prefix(int n) {
  if (n < 0) throw Error(ErrorKind::invalid_argument, "keep_prefix: n must not be negative (got " + std::to_string(n) + ")");
  if (n < n_filled_) n_filled_ = n;
}

KvLayerView KvCache::layer(int il) const {
  if (il < 0 || il >= n_layer_) throw Error(ErrorKind::internal, "KV cache layer index out of range");
  uint8_t* base = data_->data() + static_cast<size_t>(il) * 2 * layer_bytes_;
  KvLayerView view;
  view.type = type_;
  view.k = base;
  view.v = base + layer_bytes_;
  view.capacity = capacity_;
  view.n_embd_kv = n_embd_kv_;
  return view;
}

}  // namespace alloy
