// The matmul over packed weights (repack.h) with AVX-512 VNNI: 16 rows at a time, each
// 64-byte weight word multiplied with a broadcast 4-byte word of the activation row by
// VPDPBUSD, which sums a (sub-)block's products per row in one 32-bit lane. The packed quants
// are unsigned (Q8_0 stored + 128, 4-bit values 0..15, Q5_0 0..31, Q6_K 0..63), so a block's
// integer dot product is the lane minus offset * sum(activation quants): for Q8_0 / Q4_0 /
// Q5_0 the caller passes those sums, the K-quants take them from the Q8_K block's bsums.
//
// Numerics: per (row, token) output, acc = fma(d_w * d_a, float(integer block dot), acc) over
// the blocks in order, from 0 (Q4_K then subtracts its min term the same way). The integer
// dots are exact; the float order differs from vec_dot's (eight lanes, reduced at the end),
// so the results agree with vec_dot within rounding (test_packed_matmul:
// kPackedMatmulTolerance), and are the same for every tile size, batch split and thread count.
// Q5_0 is the exception: it keeps vec_dot's eight lanes and is bit-identical to it, because
// llama.cpp computes Q5_0 with that vec_dot on every x86 CPU (the parity tier holds it to that).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/ggml_type.h"

namespace alloy::cpu {

// Invariant (checked by CpuBackend's packed matmuls): groups [g_begin, g_end) lie inside the
// packed matrix, tokens [0, n_tokens) inside the activation rows, block_sums holds n_tokens
// rows of n_blocks sums (offset * sum of each activation block's quants), act_scales and
// act_tiles (when set) the scales and quants of n_tokens rounded up to 16 rows (the padding
// rows finite: the AMX kernel computes them and drops their outputs), and out has room for
// row 16 * g_end - 1 of every token row.
struct PackedMatmulArgs {
  GgmlType type;           // Q8_0, Q4_0, Q5_0, Q4_K or Q6_K
  const uint8_t* packed;   // PackedMatrix::data
  size_t group_bytes;
  size_t block_bytes;
  int64_t n_blocks;        // n_cols / 32 (Q8_0, Q4_0, Q5_0) or / 256 (Q4_K, Q6_K)
  const uint8_t* acts;     // Q8_0 (Q8_0, Q4_0, Q5_0) or Q8_K (Q4_K, Q6_K) activation rows
  size_t a_stride;
  const int32_t* block_sums;  // Q8_0 / Q4_0 / Q5_0 only (null for the K-quants)
  size_t sums_stride;         // int32 values per token row of block_sums
  float* out;              // out[t * out_stride + row]
  size_t out_stride;
  // Q8_0 with AMX only: each activation block's scale as float, laid out as block_sums, and
  // the activation quants in tile order (activation_tiles).
  const float* act_scales = nullptr;
  const uint8_t* act_tiles = nullptr;
};

// Tokens per AMX tile (the rows of its activation operand) and quants per row (one block).
constexpr int kAmxTileTokens = 16;
constexpr int kAmxTileQuants = 32;

// The offset of the packed quants of `type` (128 for Q8_0, 8 for Q4_0, 16 for Q5_0).
int packed_quant_offset(GgmlType type);

// Q5_0 keeps vec_dot's eight lanes, so its offset is subtracted per group of 4 quants.
constexpr int kQ5_0SumGroups = 8;

// Sums of activation quants the kernel of `type` subtracts per block (1) or per group of 4
// (kQ5_0SumGroups, Q5_0).
int packed_sum_groups(GgmlType type);

// sums[b * groups + k] = offset * sum of the quants of group k of activation block b (the 32
// quants when groups is 1, quants 4k..4k+3 when it is 8), for one Q8_0 activation row.
void activation_block_sums(const uint8_t* act_row, int64_t n_blocks, int offset, int groups, int32_t* sums);

// The scale of each Q8_0 activation block as float: scales[b] (the AMX kernel reads them).
void activation_block_scales(const uint8_t* act_row, int64_t n_blocks, float* scales);

// Copies the 32 quants of each block of Q8_0 activation row t to where the AMX kernel loads
// them: tiles[((t / 16 * n_blocks + b) * 16 + t % 16) * 32], so one tile's rows are contiguous.
void activation_tiles(const uint8_t* act_row, int t, int64_t n_blocks, uint8_t* tiles);

// Zero quants for padding row t of the tiles, and zero for its n_blocks scales.
void padding_tile_row(int t, int64_t n_blocks, uint8_t* tiles, float* scales);

namespace avx512 {
// Computes rows 16 * g_begin .. 16 * g_end - 1 for tokens 0 .. n_tokens - 1.
void packed_matmul(const PackedMatmulArgs& args, int64_t g_begin, int64_t g_end, int n_tokens);
// The same for tokens t_begin .. t_end - 1.
void packed_matmul_tokens(const PackedMatmulArgs& args, int64_t g_begin, int64_t g_end, int t_begin, int t_end);
// How many groups one token's product reads side by side (a caller splitting a decode
// product into chunks keeps them multiples of this).
int decode_streams(GgmlType type);
}  // namespace avx512

namespace amx {
// avx512::packed_matmul for Q8_0 and Q4_0 weights with AMX tiles (bit-identical results);
// needs args.act_scales and act_tiles (and block_sums for an odd last group, which the VNNI
// kernel finishes), and operand_scratch of operand_scratch_bytes for this matrix, which only
// this call uses while it runs. The caller has AMX (cpu_features.h: has_amx) and splits
// groups in pairs.
bool handles(GgmlType type);
void packed_matmul(const PackedMatmulArgs& args, int64_t g_begin, int64_t g_end, int n_tokens, uint8_t* operand_scratch);
// Group pairs that share each block's activation tile loads (packed_matmul_amx.cpp).
constexpr int kPairsAtOnce = 6;
// Groups per chunk: an even number whose packed weights fit kChunkBytes, and at least
// 2 * kPairsAtOnce (a chunk of wide rows is then split into slices of blocks).
int64_t chunk_groups(size_t group_bytes);
// Bytes of one group's signed weight operand for one block (8 rows of 64 bytes).
constexpr size_t kOperandBytes = 512;
// Blocks per slice of a chunk of n_groups groups: the operands of one slice fit kChunkBytes,
// the slices of a row as even as they can be (all n_blocks when they fit at once).
int64_t slice_blocks(int64_t n_blocks, int64_t n_groups);
// The scratch packed_matmul needs for a matrix of n_blocks blocks per row, group_bytes per group.
size_t operand_scratch_bytes(int64_t n_blocks, size_t group_bytes);
// Weight bytes of a chunk of group pairs that every token block passes over while they stay
// in L2 (a quarter of a 2 MiB L2). Measured (4864 x 896 and 896 x 4864, 512 tokens,
// alternating with the VNNI kernel): 64 KiB 95 / 138 GMAC/s, 256 KiB 110 / 133, 1 MiB 189 /
// 208, no chunks 181 / 211 (a noisy machine: +-20 %). With six pairs per activation load
// (packed_matmul_amx.cpp), one thread, best of 4, two runs: 512 KiB against 1 MiB 241-243 /
// 227-230 (4864 x 896), 277-279 / 269-273 (896 x 4864), 254-258 / 232-238 (8960 x 1536),
// 248-253 / 260-261 (1536 x 8960, one pair per chunk instead of three before slice_blocks);
// pp512 in one process +1.9 % on the 0.5B Q8_0 shape (11 of 16 rounds), 1.5B even (4 of 8).
// Callers splitting work keep shares this large.
constexpr size_t kChunkBytes = 512 * 1024;
}  // namespace amx


}  // namespace alloy::cpu
