// The prompt matrix-matrix kernel of every weight type, as one template on SIMD-group matrices
// (the design of llama.cpp's kernel_mul_mm): y[t][r] (+)= dot(weight row r, x[t]) (+ bias[r])
// for many tokens at once, with the arguments, tiles and grid of kargs::MatMul (kernel_args.h).
// A weight type contributes its dequantization policy (dequant_*.h, the matvec kernels' own:
// see matvec_template.h for the interface; kChunk must divide kargs::kMatMulK) and the element
// type TW of the weight tile in threadgroup memory.
//
// One threadgroup, per step of kMatMulK elements along the rows:
//  1. its threads dequantize the tile's kMatMulRows weight rows (chunk by chunk, in the CPU's
//     float operations) into threadgroup memory as TW, row-major (rows past n_rows: zeros), and
//     copy the kMatMulTokens activation rows into threadgroup memory as floats, row-major
//     (tokens past n_tokens and elements past n_cols: zeros);
//  2. each SIMD group loads 8x8 pieces: activations X (8 tokens x 8 elements) as they lie, and
//     weights transposed on load, W^T (8 elements x 8 rows), and accumulates X * W^T into its
//     float accumulators (8 tokens x 8 rows each) with simdgroup_multiply_accumulate.
// Then the SIMD groups store their accumulators into the output tile (threadgroup memory,
// tokens x rows) and every thread finishes the elements it owns (stride 32 * kMatMulSimdgroups):
// only those inside n_rows x n_tokens, adding the bias and the old y as the flags say, in
// matvec_template.h's order (W.x + b, then y + that).
//
// Numerics: products of the dequantized weights (rounded to TW) and the F32 activations,
// summed in float (the order within an 8x8 multiply is the GPU's). The tests bound the error
// (tests/test_metal_matmul.cpp). Control flow is uniform: no thread returns early, every
// thread reaches every barrier and every SIMD-group matrix operation.
// Instantiate with ALLOY_MM_KERNEL (below) in matmul.metal.
#pragma once

#include "kernel_prelude.h"

// The accumulators of one SIMD group: kMmSgTokens / 8 x kMmSgRows / 8 matrices.
enum MmShape : short {
  kMmSgRows = kargs::kMatMulRows / 2,
  kMmSgTokens = kargs::kMatMulTokens / 2,
  kMmRowMatrices = kMmSgRows / 8,
  kMmTokenMatrices = kMmSgTokens / 8,
  kMmThreads = 32 * kargs::kMatMulSimdgroups,
};

// Step 1 for the weights: elements k0 .. k0 + kMatMulK - 1 of rows row0 .. into tile_w.
template <typename Q, typename TW>
void mm_stage_weights(device_ptr<const uchar> weights, int n_cols, int n_rows, ulong row_bytes, int row0, int k0,
                      threadgroup_ptr<TW> tile_w, ushort tiitg) {
  const int chunks_per_row = kargs::kMatMulK / Q::kChunk;
  for (int p = tiitg; p < kargs::kMatMulRows * chunks_per_row; p += kMmThreads) {
    const int r = p / chunks_per_row;
    const int c = p % chunks_per_row;
    const int row = row0 + r;
    float w[Q::kChunk];
    if (row < n_rows) {
      Q::dequantize(weights + ulong(row) * row_bytes, k0 / Q::kChunk + c, n_cols, w);
    } else {
      for (short i = 0; i < Q::kChunk; ++i) {
        w[i] = 0.0f;
      }
    }
    for (short i = 0; i < Q::kChunk; ++i) {
      tile_w[r * kargs::kMatMulK + c * Q::kChunk + i] = TW(w[i]);
    }
  }
}

// Step 1 for the activations: elements k0 .. of tokens token0 .. into tile_x.
inline void mm_stage_activations(device_ptr<const float> x, int n_cols, int n_tokens, ulong x_stride, int token0, int k0,
                                 threadgroup_ptr<float> tile_x, ushort tiitg) {
  for (int e = tiitg; e < kargs::kMatMulTokens * kargs::kMatMulK; e += kMmThreads) {
    const int token = token0 + e / kargs::kMatMulK;
    const int k = k0 + e % kargs::kMatMulK;
    float v = 0.0f;
    if (token < n_tokens && k < n_cols) {
      v = x[ulong(token) * x_stride + k];
    }
    tile_x[e] = v;
  }
}

template <typename Q, typename TW>
kernel void kernel_mm(
    constant kargs::MatMul & args [[buffer(0)]],
    device_ptr<const uchar> weights [[buffer(1)]],
    device_ptr<const float> x [[buffer(2)]],
    device_ptr<const float> bias [[buffer(3)]],
    device_ptr<float> y [[buffer(4)]],
    threadgroup_ptr<TW> tile_w [[threadgroup(0)]],
    threadgroup_ptr<float> tile_x [[threadgroup(1)]],
    threadgroup_ptr<float> tile_y [[threadgroup(2)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tiitg [[thread_index_in_threadgroup]],
    ushort sgitg [[simdgroup_index_in_threadgroup]]) {
  const int row0 = int(tgpig.x) * kargs::kMatMulRows;
  const int token0 = int(tgpig.y) * kargs::kMatMulTokens;
  // This SIMD group's part of the tile: kMmSgTokens tokens from sg_token, kMmSgRows rows from sg_row.
  const int sg_row = (sgitg % 2) * kMmSgRows;
  const int sg_token = (sgitg / 2) * kMmSgTokens;

  simdgroup_float8x8 acc[kMmTokenMatrices][kMmRowMatrices];
  for (short i = 0; i < kMmTokenMatrices; ++i) {
    for (short j = 0; j < kMmRowMatrices; ++j) {
      acc[i][j] = make_filled_simdgroup_matrix<float, 8, 8>(0.0f);
    }
  }

  for (int k0 = 0; k0 < args.n_cols; k0 += kargs::kMatMulK) {
    mm_stage_weights<Q, TW>(weights, args.n_cols, args.n_rows, args.row_bytes, row0, k0, tile_w, tiitg);
    mm_stage_activations(x, args.n_cols, args.n_tokens, args.x_stride, token0, k0, tile_x, tiitg);
    threadgroup_barrier(mem_flags::mem_threadgroup);
    for (short kk = 0; kk < kargs::kMatMulK; kk += 8) {
      simdgroup_float8x8 mx[kMmTokenMatrices];
      simdgroup_matrix<TW, 8, 8> mw[kMmRowMatrices];
      for (short i = 0; i < kMmTokenMatrices; ++i) {
        simdgroup_load(mx[i], tile_x + (sg_token + 8 * i) * kargs::kMatMulK + kk, kargs::kMatMulK);
      }
      for (short j = 0; j < kMmRowMatrices; ++j) {
        simdgroup_load(mw[j], tile_w + (sg_row + 8 * j) * kargs::kMatMulK + kk, kargs::kMatMulK, ulong2(0, 0), true);
      }
      for (short i = 0; i < kMmTokenMatrices; ++i) {
        for (short j = 0; j < kMmRowMatrices; ++j) {
          simdgroup_multiply_accumulate(acc[i][j], mx[i], mw[j], acc[i][j]);
        }
      }
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);  // the tiles are refilled next step
  }

  for (short i = 0; i < kMmTokenMatrices; ++i) {
    for (short j = 0; j < kMmRowMatrices; ++j) {
      simdgroup_store(acc[i][j], tile_y + (sg_token + 8 * i) * kargs::kMatMulRows + sg_row + 8 * j, kargs::kMatMulRows);
    }
  }
  threadgroup_barrier(mem_flags::mem_threadgroup);

  for (int e = tiitg; e < kargs::kMatMulTokens * kargs::kMatMulRows; e += kMmThreads) {
    const int token = token0 + e / kargs::kMatMulRows;
    const int row = row0 + e % kargs::kMatMulRows;
    if (token < args.n_tokens && row < args.n_rows) {
      float value = tile_y[e];
      if ((args.flags & kargs::kMatMulBias) != 0) {
        value += bias[row];
      }
      device_ptr<float> out = y + ulong(token) * args.y_stride + row;
      if ((args.flags & kargs::kMatMulAdd) != 0) {
        *out = *out + value;
      } else {
        *out = value;
      }
    }
  }
}

// kernel_mm_<TYPE> (TYPE as kernel_mv_<TYPE>_*) of policy Q with weight tiles of TW.
#define ALLOY_MM_STRING(s) #s
#define ALLOY_MM_KERNEL(Q, TW, TYPE)                          \
  typedef decltype(kernel_mm<Q, TW>) kernel_mm_##TYPE##_fn; \
  template [[host_name(ALLOY_MM_STRING(kernel_mm_##TYPE))]] kernel kernel_mm_##TYPE##_fn kernel_mm<Q, TW>;
