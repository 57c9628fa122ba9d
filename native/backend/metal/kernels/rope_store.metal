// RoPE of Q (in place) and of K, and the rotated K and V into the F16 KV cache, in one
// dispatch: rope.metal on Q and kv_store.metal on rope(K) and V, with their per-element logic
// (rope_common.h), so Q and the cache hold the bits the two standalone kernels would leave.
// K is read, never written: its rotated values go only to the cache.
// Thread index i of token t: i < n_head * n_rot / 2 rotates Q pair i % (n_rot / 2) of head
// i / (n_rot / 2); then c = i - n_head * n_rot / 2 < n_embd_kv stores K channel c (rotated
// from its head's unrotated pair, as rope_element does) and V channel c; threads past both
// (the last threadgroup) do nothing. Grid and buffers: see kargs::RopeStore.
#include "rope_common.h"

kernel void kernel_rope_store_f16(
    constant kargs::RopeStore & args [[buffer(0)]],
    device_ptr<const int> q_positions [[buffer(1)]],
    device_ptr<const int> k_positions [[buffer(2)]],
    device_ptr<float> q [[buffer(3)]],
    device_ptr<const float> k [[buffer(4)]],
    device_ptr<const float> v [[buffer(5)]],
    device_ptr<half> k_cache [[buffer(6)]],
    device_ptr<half> v_cache [[buffer(7)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]]) {
  const int pairs = args.rope.n_rot / 2;
  const int q_pairs = args.rope.n_heads * pairs;
  const int index = int(tgpig.x) * ntg + tid;
  const uint t = tgpig.y;
  if (index < q_pairs) {
    device_ptr<float> head = q + t * args.rope.row_stride + (index / pairs) * args.rope.head_dim;
    rope_pair_in_place(args.rope, head, q_positions[t], index % pairs);
    return;
  }
  const int c = index - q_pairs;
  if (c >= args.store.n_embd_kv) {
    return;
  }
  const int head_dim = args.rope.head_dim;
  device_ptr<const float> k_head = k + t * args.store.k_stride + (c / head_dim) * head_dim;
  const float k_value = rope_element(args.rope, k_head, k_positions[t], c % head_dim);
  kv_store_channel(args.store, k_cache, v_cache, t, c, k_value, v[t * args.store.v_stride + c]);
}
