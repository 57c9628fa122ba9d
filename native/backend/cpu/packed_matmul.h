// The matmul over packed weights (repack.h) with AVX-512 VNNI: 16 rows at a time, each
// 64-byte weight word multiplied with a broadcast 4-byte word of the activation row by
// VPDPBUSD, which sums a whole block's products per row in one 32-bit lane. The packed quants
// are unsigned (Q8_0 stored + 128, Q4_0 nibbles 0..15), so the block's integer dot product is
// the lane minus offset * sum(activation quants of the block), offset 128 or 8.
//
// Numerics: per (row, token) output, acc = fma(d_w * d_a, float(block dot), acc) over the
// blocks in order, from 0. The integer block dots are exact; the float order differs from
// vec_dot's (eight lanes, reduced at the end), so the results agree with vec_dot within
// rounding (test_packed_matmul: kPackedMatmulTolerance), and are the same for every tile size,
// batch split and thread count.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/ggml_type.h"

namespace alloy::cpu {

// Invariant (checked by CpuBackend::matmul): groups [g_begin, g_end) lie inside the packed
// matrix, tokens [0, n_tokens) inside the activation rows, block_sums holds n_tokens rows of
// n_blocks sums (offset * sum of each activation block's quants), and out has room for row
// 16 * g_end - 1 of every token row.
struct PackedMatmulArgs {
  GgmlType type;           // Q8_0 or Q4_0
  const uint8_t* packed;   // PackedMatrix::data
  size_t group_bytes;
  size_t block_bytes;
  int64_t n_blocks;        // n_cols / 32
  const uint8_t* acts;     // Q8_0 activation rows
  size_t a_stride;
  const int32_t* block_sums;
  float* out;              // out[t * out_stride + row]
  size_t out_stride;
};

// The offset of the packed quants of `type` (128 for Q8_0, 8 for Q4_0).
int packed_quant_offset(GgmlType type);

// sums[b] = offset * sum of the 32 quants of activation block b, for one Q8_0 activation row.
void activation_block_sums(const uint8_t* act_row, int64_t n_blocks, int offset, int32_t* sums);

namespace avx512 {
// Computes rows 16 * g_begin .. 16 * g_end - 1 for tokens 0 .. n_tokens - 1.
void packed_matmul(const PackedMatmulArgs& args, int64_t g_begin, int64_t g_end, int n_tokens);
}  // namespace avx512

}  // namespace alloy::cpu
