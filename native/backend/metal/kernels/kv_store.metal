// Copies the K and V rows of n_tokens tokens (F32) into the F16 KV cache at positions
// pos0 .. pos0 + n_tokens - 1 (layout and conversion: rope_common.h, kv_store_channel).
// A thread per channel and token; threads past n_embd_kv (the last threadgroup) do nothing.
// Grid: see kargs::KvStore.
#include "rope_common.h"

kernel void kernel_kv_store_f16(
    constant kargs::KvStore & args [[buffer(0)]],
    device_ptr<const float> k [[buffer(1)]],
    device_ptr<const float> v [[buffer(2)]],
    device_ptr<half> k_cache [[buffer(3)]],
    device_ptr<half> v_cache [[buffer(4)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]]) {
  const int c = int(tgpig.x) * ntg + tid;
  if (c >= args.n_embd_kv) {
    return;
  }
  const uint t = tgpig.y;
  kv_store_channel(args, k_cache, v_cache, t, c, k[t * args.k_stride + c], v[t * args.v_stride + c]);
}
