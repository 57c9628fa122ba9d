// Causal attention over the F16 KV cache (CPU reference: CpuBackend::attention /
// attend_group in backend/cpu/cpu_backend.cpp): query t (position pos0 + t) of head h attends
// to cache positions 0 .. pos0 + t of KV head h / (n_head / n_head_kv) - grouped-query heads
// read the same K rows and V channels, nothing is copied. K holds one row per position, V is
// transposed (channel c of position p at v[c * capacity + p]): kernels/kv_store.metal.
//
// Online softmax, as llama.cpp's Metal flash-attention kernels do: positions are taken a block
// of kAttentionBlock at a time, lane j of a SIMD group scores position base + j
// (scale * K.Q with the query in F16, as the CPU converts it, products exact in float), and the
// SIMD group keeps a running maximum m, a running sum l of exp(score - m) and, per lane, the
// running sums of exp(score - m) * V for the lane's channels; a new block's maximum rescales
// them by exp(m_old - m_new). The result is acc / l. The CPU instead normalizes the
// probabilities first and rounds them to F16 before the V product; the tests bound the
// difference (tests/test_metal_ops.cpp, attention_bound). Exponentials are MSL's precise::exp
// (at most 4 ulp).
//
// Two work splits (grids and threadgroup memory: kargs::Attention):
//  * decode: a threadgroup per (query head, token); its SIMD groups take every nsg-th block of
//    positions and merge their (m, l, acc) through threadgroup memory at the end, so one
//    token's long context keeps several SIMD groups busy;
//  * prefill: a SIMD group per (query head, token) walks all its positions; the SIMD groups of
//    a threadgroup take consecutive tokens of one head, so they read the same K/V rows.
// DEBT: a lane scores its position with a scalar F16 dot product and the V sums are scalar too;
// llama.cpp's flash-attention kernels use half4 loads and, for prefill, SIMD-group matrices
// over tiles of 8 queries. Their speed can only be measured on a Mac; the Mac bench's
// per-kernel timings decide whether that rewrite (same online-softmax numerics) is worth it.
#include "kernel_prelude.h"


// A SIMD group's online-softmax state for one query; m and l are the same in every lane.
struct AttentionState {
  float m;
  float l;
  float acc[kargs::kAttentionChannelsPerLane];  // channel lane + 32 k of the output, unnormalized
};

inline void attention_state_init(thread AttentionState & st) {
  st.m = -INFINITY;
  st.l = 0.0f;
  for (int k = 0; k < kargs::kAttentionChannelsPerLane; ++k) {
    st.acc[k] = 0.0f;
  }
}

// Adds positions base .. min(base + kAttentionBlock, last + 1) - 1 (base <= last) to the state.
// Every lane of the SIMD group calls it with the same base and last. qh: the query in F16;
// k_head / v_head: the KV head's first K value / first V channel; probs: the SIMD group's
// kAttentionBlock floats of threadgroup memory.
inline void attend_block(constant kargs::Attention & args, threadgroup_ptr<const half> qh,
                         device_ptr<const half> k_head, device_ptr<const half> v_head, int base, int last,
                         threadgroup_ptr<float> probs, ushort lane, thread AttentionState & st) {
  const int n = min(int(kargs::kAttentionBlock), last + 1 - base);
  float score = -INFINITY;
  if (lane < n) {
    device_ptr<const half> kr = k_head + ulong(base + lane) * args.k_stride;
    float dot = 0.0f;
    for (int d = 0; d < args.head_dim; ++d) {
      dot += float(qh[d]) * float(kr[d]);
    }
    score = dot * args.scale;
  }
  // Lane 0 always holds a position, so m_new is finite: the exponentials below are 0 for the
  // empty lanes (score -inf) and for the first block's rescale (m -inf).
  const float m_new = max(st.m, simd_max(score));
  const float p = precise::exp(score - m_new);
  const float rescale = precise::exp(st.m - m_new);
  st.l = st.l * rescale + simd_sum(p);
  st.m = m_new;
  probs[lane] = p;
  simdgroup_barrier(mem_flags::mem_threadgroup);
  for (int k = 0; k < kargs::kAttentionChannelsPerLane; ++k) {
    const int c = lane + kargs::kAttentionBlock * k;
    if (c >= args.head_dim) {
      break;
    }
    device_ptr<const half> vr = v_head + ulong(c) * ulong(args.capacity) + base;
    float sum = 0.0f;
    for (int j = 0; j < n; ++j) {
      sum += probs[j] * float(vr[j]);
    }
    st.acc[k] = st.acc[k] * rescale + sum;
  }
  // Every lane has read probs before the next block overwrites them.
  simdgroup_barrier(mem_flags::mem_threadgroup);
}

kernel void kernel_attention_decode_f16(
    constant kargs::Attention & args [[buffer(0)]],
    device_ptr<const float> q [[buffer(1)]],
    device_ptr<const half> k [[buffer(2)]],
    device_ptr<const half> v [[buffer(3)]],
    device_ptr<float> out [[buffer(4)]],
    threadgroup_ptr<half> qh [[threadgroup(0)]],
    threadgroup_ptr<float> probs [[threadgroup(1)]],
    threadgroup_ptr<float> merge [[threadgroup(2)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]],
    ushort sgitg [[simdgroup_index_in_threadgroup]],
    ushort nsg [[simdgroups_per_threadgroup]],
    ushort tiisg [[thread_index_in_simdgroup]]) {
  const int head = int(tgpig.x);
  const uint t = tgpig.y;
  const int kv_head = head / (args.n_head / args.n_head_kv);
  const int last = args.pos0 + int(t);

  device_ptr<const float> qr = q + t * args.q_stride + head * args.head_dim;
  for (int d = tid; d < args.head_dim; d += ntg) {
    qh[d] = half(qr[d]);
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);

  device_ptr<const half> k_head = k + kv_head * args.head_dim;
  device_ptr<const half> v_head = v + ulong(kv_head * args.head_dim) * ulong(args.capacity);
  AttentionState st;
  attention_state_init(st);
  for (int base = sgitg * kargs::kAttentionBlock; base <= last; base += nsg * kargs::kAttentionBlock) {
    attend_block(args, qh, k_head, v_head, base, last, probs + sgitg * kargs::kAttentionBlock, tiisg, st);
  }

  // Merge: SIMD group s leaves (m_s, l_s, acc_s); out = sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M)
  // with M the largest m_s. A SIMD group without blocks has m -inf, l 0, acc 0: weight 0.
  threadgroup_ptr<float> mine = merge + sgitg * kargs::kAttentionMergeStride;
  if (tiisg == 0) {
    mine[0] = st.m;
    mine[1] = st.l;
  }
  for (int kk = 0; kk < kargs::kAttentionChannelsPerLane; ++kk) {
    const int c = tiisg + kargs::kAttentionBlock * kk;
    if (c >= args.head_dim) {
      break;
    }
    mine[4 + c] = st.acc[kk];
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float m_max = -INFINITY;
  for (int s = 0; s < nsg; ++s) {
    m_max = max(m_max, merge[s * kargs::kAttentionMergeStride]);
  }
  device_ptr<float> outr = out + t * args.out_stride + head * args.head_dim;
  for (int c = tid; c < args.head_dim; c += ntg) {
    float l = 0.0f;
    float acc = 0.0f;
    for (int s = 0; s < nsg; ++s) {
      threadgroup_ptr<float> part = merge + s * kargs::kAttentionMergeStride;
      const float w = precise::exp(part[0] - m_max);
      l += part[1] * w;
      acc += part[4 + c] * w;
    }
    outr[c] = acc / l;
  }
}

kernel void kernel_attention_prefill_f16(
    constant kargs::Attention & args [[buffer(0)]],
    device_ptr<const float> q [[buffer(1)]],
    device_ptr<const half> k [[buffer(2)]],
    device_ptr<const half> v [[buffer(3)]],
    device_ptr<float> out [[buffer(4)]],
    threadgroup_ptr<half> qh_all [[threadgroup(0)]],
    threadgroup_ptr<float> probs [[threadgroup(1)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort sgitg [[simdgroup_index_in_threadgroup]],
    ushort nsg [[simdgroups_per_threadgroup]],
    ushort tiisg [[thread_index_in_simdgroup]]) {
  const int head = int(tgpig.x);
  const int t = int(tgpig.y) * nsg + sgitg;
  if (t >= args.n_tokens) {
    return;  // the whole SIMD group: this kernel has no threadgroup barrier
  }
  const int kv_head = head / (args.n_head / args.n_head_kv);
  const int last = args.pos0 + t;

  threadgroup_ptr<half> qh = qh_all + sgitg * kargs::kAttentionMaxHeadDim;
  device_ptr<const float> qr = q + ulong(t) * args.q_stride + head * args.head_dim;
  for (int d = tiisg; d < args.head_dim; d += kargs::kAttentionBlock) {
    qh[d] = half(qr[d]);
  }
  simdgroup_barrier(mem_flags::mem_threadgroup);

  device_ptr<const half> k_head = k + kv_head * args.head_dim;
  device_ptr<const half> v_head = v + ulong(kv_head * args.head_dim) * ulong(args.capacity);
  AttentionState st;
  attention_state_init(st);
  for (int base = 0; base <= last; base += kargs::kAttentionBlock) {
    attend_block(args, qh, k_head, v_head, base, last, probs + sgitg * kargs::kAttentionBlock, tiisg, st);
  }

  device_ptr<float> outr = out + ulong(t) * args.out_stride + head * args.head_dim;
  for (int kk = 0; kk < kargs::kAttentionChannelsPerLane; ++kk) {
    const int c = tiisg + kargs::kAttentionBlock * kk;
    if (c >= args.head_dim) {
      break;
    }
    outr[c] = st.acc[kk] / st.l;
  }
}

