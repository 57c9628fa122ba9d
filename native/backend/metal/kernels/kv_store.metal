// Copies the K and V rows of n_tokens tokens (F32) into the F16 KV cache at positions
// pos0 .. pos0 + n_tokens - 1 (CPU reference: CpuBackend::store_kv in
// backend/cpu/cpu_backend.cpp): K as one row of n_embd_kv halves per position, V transposed -
// channel c of position p at v[c * capacity + p] - so attention reads a V channel's positions
// contiguously. The conversion is MSL's float -> half, which rounds to nearest even like the
// CPU's f32_to_f16 (core/half.h): the cache holds the same bits on both backends.
// A thread per channel and token; threads past n_embd_kv (the last threadgroup) do nothing.
// Grid: see kargs::KvStore.
#include "kernel_prelude.h"

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
  const ulong pos = ulong(args.pos0) + t;
  k_cache[pos * ulong(args.n_embd_kv) + c] = half(k[t * args.k_stride + c]);
  v_cache[ulong(c) * ulong(args.capacity) + pos] = half(v[t * args.v_stride + c]);
}
