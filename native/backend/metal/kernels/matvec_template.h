// The decode matrix-vector kernel of every weight type, as one template: y[t][r] from
// dot(weight row r, x[t]) for the F32 activation rows of the tokens, with the fused input and
// output variants of kargs::MatVecFused (kernel_args.h). A weight type contributes only its
// dequantization policy (dequant_float.h, dequant_legacy.h, dequant_k_quants.h; get_rows.metal
// decodes embedding rows with the same policies), a struct with:
//   kChunk  elements one lane dequantizes at a time (a chunk never straddles two blocks);
//   kRows   rows per SIMD group (kargs::kMatVec<type>Rows, which the host's grid uses);
//   static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w)
//           w[k] = element chunk * kChunk + k of the row, in the float operations and order of
//           the CPU's dequantize_row (backend/cpu/dequantize.cpp), 0 past n_cols.
//
// Numerics: weights dequantized against F32 activations, as llama.cpp's Metal backend does
// (the CPU backend quantizes the activations instead; tests/matvec_check.h compares with
// both). Work split: lane l of a SIMD group takes chunks l, l + 32, ...; it loads (and
// for the norm variants normalizes) its kChunk activations once for all kRows rows, sums its
// products chunk by chunk, and the lanes' sums meet with simd_sum. Norm variants: every
// threadgroup first computes the token's sum of squares (strided over its threads, simd_sum,
// then the SIMD groups' partials through threadgroup memory) and scales each activation as
// rms_norm.metal does: (x * (1 / sqrt(mean(x^2) + eps))) * norm_weight.
// Rows past n_rows (the last threadgroup) are neither read nor written; every lane still
// takes part in each simd_sum (uniform control flow). Buffers a variant does not use (the up
// weights, the norm weight, the bias without has_bias) are never read: bind any buffer there.
// Grid and threadgroup memory: kernel_args.h at MatVecFused.
// The Q/K/V variant (kernel_mv_qkv, kargs::MatVecQkv) runs the store output of three weight
// matrices of the same type and row length over one input: each threadgroup belongs to one
// matrix (Q's threadgroups, then K's, then V's), computes its norm and its rows exactly as
// kernel_mv does for that matrix alone, and writes them to that matrix's output with its bias.
// Instantiate with ALLOY_MV_KERNELS (below) in the policy's file, which names the eight kernels.
#pragma once

#include "kernel_prelude.h"

enum MvInput : short { kMvInX = 0, kMvInNorm = 1 };
enum MvOutput : short { kMvOutStore = 0, kMvOutAdd = 1, kMvOutSwiglu = 2 };

// 1 / sqrt(mean(x^2) + eps) of the token row xt, computed by the whole threadgroup. Every
// thread must call it (it holds a threadgroup barrier).
inline float mv_inverse_rms(device_ptr<const float> xt, int n, float eps, threadgroup_ptr<float> partials, ushort tiitg,
                            ushort sgitg, ushort tiisg) {
  float sum = 0.0f;
  for (int i = tiitg; i < n; i += 32 * kargs::kMatVecSimdgroups) {
    const float v = xt[i];
    sum += v * v;
  }
  sum = simd_sum(sum);
  if (tiisg == 0) {
    partials[sgitg] = sum;
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);
  float total = 0.0f;
  for (short g = 0; g < kargs::kMatVecSimdgroups; ++g) {
    total += partials[g];
  }
  const float mean = total / n;
  return 1.0f / sqrt(mean + eps);
}

// The dot product of one chunk of a weight row with the lane's activations xv.
template <typename Q>
float mv_chunk_dot(device_ptr<const uchar> row, int chunk, int n_cols, thread const float * xv) {
  float w[Q::kChunk];
  Q::dequantize(row, chunk, n_cols, w);
  float partial = 0.0f;
  for (short k = 0; k < Q::kChunk; ++k) {
    partial += w[k] * xv[k];
  }
  return partial;
}

// The epilogue of one output row: bias, SwiGLU, store or add (lane 0 of the SIMD group only).
template <MvOutput kOut>
void mv_write(int n_rows, int has_bias, device_ptr<const float> bias, device_ptr<float> yt, int row, float total,
              float total_up) {
  float value = total;
  if (kOut == kMvOutSwiglu) {
    float gate = total;
    float up = total_up;
    if (has_bias != 0) {
      gate += bias[row];
      up += bias[n_rows + row];
    }
    const float silu = gate / (1.0f + exp(-gate));  // swiglu_row's form (backend/cpu/cpu_kernels.cpp)
    value = silu * up;
  } else if (has_bias != 0) {
    value += bias[row];
  }
  if (kOut == kMvOutAdd) {
    yt[row] = yt[row] + value;
  } else {
    yt[row] = value;
  }
}

// Rows first_row .. first_row + kRows - 1 of one weight matrix (n_rows rows of row_bytes
// bytes, with the up matrix at the same offsets for SwiGLU) against the token's activations
// xt, by one SIMD group: its lanes' sums meet with simd_sum and lane 0 writes each row of yt.
template <typename Q, MvInput kIn, MvOutput kOut>
void mv_rows(int n_cols, int n_rows, ulong row_bytes, int has_bias, int first_row, device_ptr<const uchar> weights,
             device_ptr<const uchar> weights_up, device_ptr<const float> xt, device_ptr<const float> norm_weight,
             float inv_rms, device_ptr<const float> bias, device_ptr<float> yt, ushort tiisg) {
  float sums[Q::kRows];
  float sums_up[Q::kRows];
  for (short r = 0; r < Q::kRows; ++r) {
    sums[r] = 0.0f;
    sums_up[r] = 0.0f;
  }
  const int n_chunks = (n_cols + Q::kChunk - 1) / Q::kChunk;
  for (int chunk = tiisg; chunk < n_chunks; chunk += 32) {
    float xv[Q::kChunk];
    for (short k = 0; k < Q::kChunk; ++k) {
      const int e = chunk * Q::kChunk + k;
      float v = 0.0f;
      if (e < n_cols) {
        v = xt[e];
        if (kIn == kMvInNorm) {
          v = (v * inv_rms) * norm_weight[e];
        }
      }
      xv[k] = v;
    }
    for (short r = 0; r < Q::kRows; ++r) {
      const int row = first_row + r;
      if (row >= n_rows) {
        break;
      }
      const ulong offset = ulong(row) * row_bytes;
      sums[r] += mv_chunk_dot<Q>(weights + offset, chunk, n_cols, xv);
      if (kOut == kMvOutSwiglu) {
        sums_up[r] += mv_chunk_dot<Q>(weights_up + offset, chunk, n_cols, xv);
      }
    }
  }

  for (short r = 0; r < Q::kRows; ++r) {
    const int row = first_row + r;
    const float total = simd_sum(sums[r]);
    float total_up = 0.0f;
    if (kOut == kMvOutSwiglu) {
      total_up = simd_sum(sums_up[r]);
    }
    if (tiisg == 0 && row < n_rows) {
      mv_write<kOut>(n_rows, has_bias, bias, yt, row, total, total_up);
    }
  }
}

template <typename Q, MvInput kIn, MvOutput kOut>
kernel void kernel_mv(
    constant kargs::MatVecFused & args [[buffer(0)]],
    device_ptr<const uchar> weights [[buffer(1)]],
    device_ptr<const uchar> weights_up [[buffer(2)]],
    device_ptr<const float> x [[buffer(3)]],
    device_ptr<const float> norm_weight [[buffer(4)]],
    device_ptr<const float> bias [[buffer(5)]],
    device_ptr<float> y [[buffer(6)]],
    threadgroup_ptr<float> partials [[threadgroup(0)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tiitg [[thread_index_in_threadgroup]],
    ushort sgitg [[simdgroup_index_in_threadgroup]],
    ushort tiisg [[thread_index_in_simdgroup]]) {
  const int first_row = (int(tgpig.x) * kargs::kMatVecSimdgroups + sgitg) * Q::kRows;
  device_ptr<const float> xt = x + tgpig.y * args.shape.x_stride;
  float inv_rms = 1.0f;
  if (kIn == kMvInNorm) {
    inv_rms = mv_inverse_rms(xt, args.shape.n_cols, args.eps, partials, tiitg, sgitg, tiisg);
  }
  mv_rows<Q, kIn, kOut>(args.shape.n_cols, args.shape.n_rows, args.shape.row_bytes, args.has_bias, first_row, weights,
                        weights_up, xt, norm_weight, inv_rms, bias, y + tgpig.y * args.shape.y_stride, tiisg);
}

// Q, K and V of one input (kargs::MatVecQkv): buffers 1-6 as kernel_mv's (the K weights in the
// up weights' slot), then V's weights, K's and V's biases and outputs. Every threadgroup picks
// its matrix from its index, so the choice is uniform across its SIMD groups.
template <typename Q, MvInput kIn>
kernel void kernel_mv_qkv(
    constant kargs::MatVecQkv & args [[buffer(0)]],
    device_ptr<const uchar> weights_q [[buffer(1)]],
    device_ptr<const uchar> weights_k [[buffer(2)]],
    device_ptr<const float> x [[buffer(3)]],
    device_ptr<const float> norm_weight [[buffer(4)]],
    device_ptr<const float> bias_q [[buffer(5)]],
    device_ptr<float> y_q [[buffer(6)]],
    device_ptr<const uchar> weights_v [[buffer(7)]],
    device_ptr<const float> bias_k [[buffer(8)]],
    device_ptr<const float> bias_v [[buffer(9)]],
    device_ptr<float> y_k [[buffer(10)]],
    device_ptr<float> y_v [[buffer(11)]],
    threadgroup_ptr<float> partials [[threadgroup(0)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tiitg [[thread_index_in_threadgroup]],
    ushort sgitg [[simdgroup_index_in_threadgroup]],
    ushort tiisg [[thread_index_in_simdgroup]]) {
  const int per_group = Q::kRows * kargs::kMatVecSimdgroups;
  const int groups_q = (args.q.shape.n_rows + per_group - 1) / per_group;
  const int groups_kv = (args.n_kv_rows + per_group - 1) / per_group;
  int group = int(tgpig.x);
  int n_rows = args.q.shape.n_rows;
  int has_bias = args.q.has_bias;
  device_ptr<const uchar> weights = weights_q;
  device_ptr<const float> bias = bias_q;
  device_ptr<float> yt = y_q + tgpig.y * args.q.shape.y_stride;
  if (group >= groups_q) {
    group -= groups_q;
    const bool is_v = group >= groups_kv;
    if (is_v) {
      group -= groups_kv;
    }
    n_rows = args.n_kv_rows;
    has_bias = is_v ? args.has_bias_v : args.has_bias_k;
    weights = is_v ? weights_v : weights_k;
    bias = is_v ? bias_v : bias_k;
    yt = (is_v ? y_v : y_k) + tgpig.y * args.kv_y_stride;
  }

  const int first_row = (group * kargs::kMatVecSimdgroups + sgitg) * Q::kRows;
  device_ptr<const float> xt = x + tgpig.y * args.q.shape.x_stride;
  float inv_rms = 1.0f;
  if (kIn == kMvInNorm) {
    inv_rms = mv_inverse_rms(xt, args.q.shape.n_cols, args.q.eps, partials, tiitg, sgitg, tiisg);
  }
  mv_rows<Q, kIn, kMvOutStore>(args.q.shape.n_cols, n_rows, args.q.shape.row_bytes, has_bias, first_row, weights, weights,
                               xt, norm_weight, inv_rms, bias, yt, tiisg);
}

// The eight kernels of one policy Q, named kernel_mv_<TYPE>_<input>_<output> (TYPE as ggml
// spells it, lower case: q4_0, q4_K, f16; output store, add, swiglu or qkv). MSL instantiates a
// kernel template through its function type and [[host_name]], as llama.cpp's Metal kernels do.
#define ALLOY_MV_STRING(s) #s
#define ALLOY_MV_NAME(TYPE, VARIANT) ALLOY_MV_STRING(kernel_mv_##TYPE##_##VARIANT)
#define ALLOY_MV_KERNEL(Q, TYPE, IN, OUT, VARIANT) \
  template [[host_name(ALLOY_MV_NAME(TYPE, VARIANT))]] kernel kernel_mv_##TYPE##_fn kernel_mv<Q, IN, OUT>;
#define ALLOY_MV_QKV_KERNEL(Q, TYPE, IN, VARIANT) \
  template [[host_name(ALLOY_MV_NAME(TYPE, VARIANT))]] kernel kernel_mv_qkv_##TYPE##_fn kernel_mv_qkv<Q, IN>;
#define ALLOY_MV_KERNELS(Q, TYPE)                                            \
  typedef decltype(kernel_mv<Q, kMvInX, kMvOutStore>) kernel_mv_##TYPE##_fn; \
  typedef decltype(kernel_mv_qkv<Q, kMvInX>) kernel_mv_qkv_##TYPE##_fn;      \
  ALLOY_MV_KERNEL(Q, TYPE, kMvInX, kMvOutStore, x_store)                     \
  ALLOY_MV_KERNEL(Q, TYPE, kMvInX, kMvOutAdd, x_add)                         \
  ALLOY_MV_KERNEL(Q, TYPE, kMvInX, kMvOutSwiglu, x_swiglu)                   \
  ALLOY_MV_KERNEL(Q, TYPE, kMvInNorm, kMvOutStore, norm_store)               \
  ALLOY_MV_KERNEL(Q, TYPE, kMvInNorm, kMvOutAdd, norm_add)                   \
  ALLOY_MV_KERNEL(Q, TYPE, kMvInNorm, kMvOutSwiglu, norm_swiglu)             \
  ALLOY_MV_QKV_KERNEL(Q, TYPE, kMvInX, x_qkv)                                \
  ALLOY_MV_QKV_KERNEL(Q, TYPE, kMvInNorm, norm_qkv)
