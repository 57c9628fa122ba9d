// Decode matrix-vector product with Q8_0 weights: y[t][r] = dot(weight row r, x[t]).
//
// Numerics: the weights are dequantized (d * q, d an f16 scale per block of 32) and multiplied
// with the F32 activations, as llama.cpp's Metal backend does. The CPU backend instead
// quantizes the activations to Q8_0 first (integer dot products, backend/cpu/vec_dot_legacy.cpp);
// the GPU has float throughput to spare and memory bandwidth is the limit, so it skips that
// pass and its rounding. The kernel tests compare with both: the exact dot product of the
// CPU's dequantized weights (float rounding only) and the CPU backend's result (within the
// error its activation quantization can cause).
//
// Work split: a SIMD group computes kMatVecQ8_0Rows consecutive rows; its 32 lanes take 8
// blocks at a time, 4 lanes per block, 8 elements per lane, so a lane loads its 8
// activations once for all its rows. The per-lane partial sums meet with simd_sum.
// Rows past n_rows (the last threadgroup) are neither read nor written; n_cols must be a
// multiple of 32 (ggml's Q8_0 rows are). Grid: see kargs::kMatVecQ8_0Rows.
#include "kernel_prelude.h"

// ggml's block_q8_0: x = d * qs[i].
struct block_q8_0 {
  half d;
  int8_t qs[32];
};
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 layout");

kernel void kernel_mul_mv_q8_0_f32(
    constant kargs::MatVec & args [[buffer(0)]],
    device_ptr<const uchar> weights [[buffer(1)]],
    device_ptr<const float> x [[buffer(2)]],
    device_ptr<float> y [[buffer(3)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort sgitg [[simdgroup_index_in_threadgroup]],
    ushort tiisg [[thread_index_in_simdgroup]]) {
  const int n_rows_here = kargs::kMatVecQ8_0Rows;
  const int first_row = (int(tgpig.x) * kargs::kMatVecQ8_0Simdgroups + sgitg) * n_rows_here;
  const int n_blocks = args.n_cols / 32;
  device_ptr<const float> xt = x + tgpig.y * args.x_stride;

  const short block_in_step = tiisg / 4;  // 0..7: which of the 8 blocks of a step
  const short part = tiisg % 4;           // 0..3: which 8 elements of the block

  float sums[kargs::kMatVecQ8_0Rows] = {0.0f};
  for (int ib = block_in_step; ib < n_blocks; ib += 8) {
    float xv[8];
    for (short k = 0; k < 8; ++k) {
      xv[k] = xt[ib * 32 + part * 8 + k];
    }
    for (short r = 0; r < n_rows_here; ++r) {
      if (first_row + r >= args.n_rows) {
        break;
      }
      device_ptr<const block_q8_0> row = (device_ptr<const block_q8_0>)(weights + (first_row + r) * args.row_bytes);
      float partial = 0.0f;
      for (short k = 0; k < 8; ++k) {
        partial += float(row[ib].qs[part * 8 + k]) * xv[k];
      }
      sums[r] += partial * float(row[ib].d);
    }
  }

  for (short r = 0; r < n_rows_here; ++r) {
    // Every lane of the SIMD group takes part (uniform control flow), also for rows past the end.
    const float total = simd_sum(sums[r]);
    if (tiisg == 0 && first_row + r < args.n_rows) {
      y[tgpig.y * args.y_stride + first_row + r] = total;
    }
  }
}
