#include "backend/cpu/packed_matmul.h"

#include <algorithm>
#include <cstring>

#include "backend/cpu/quant_blocks.h"

namespace alloy::cpu {

int packed_quant_offset(GgmlType type) {
  if (type == GgmlType::Q8_0) return 128;
  return type == GgmlType::Q5_0 ? 16 : 8;
}

int packed_sum_groups(GgmlType type) { return type == GgmlType::Q5_0 ? kQ5_0SumGroups : 1; }

void activation_block_sums(const uint8_t* act_row, int64_t n_blocks, int offset, int groups, int32_t* sums) {
  const auto* blocks = reinterpret_cast<const BlockQ8_0*>(act_row);
  const int per_group = kQK / groups;
  for (int64_t b = 0; b < n_blocks; ++b) {
    for (int k = 0; k < groups; ++k) {
      int32_t sum = 0;
      for (int e = k * per_group; e < (k + 1) * per_group; ++e) sum += blocks[b].qs[e];
      sums[b * groups + k] = offset * sum;
    }
  }
}

void activation_block_scales(const uint8_t* act_row, int64_t n_blocks, float* scales) {
  const auto* blocks = reinterpret_cast<const BlockQ8_0*>(act_row);
  for (int64_t b = 0; b < n_blocks; ++b) scales[b] = load_f16(blocks[b].d);
}

namespace {
// Where block b of token t starts in the tile-ordered quants.
size_t tile_offset(int t, int64_t n_blocks, int64_t b) {
  const int64_t tile = t / kAmxTileTokens, row = t % kAmxTileTokens;
  return static_cast<size_t>((tile * n_blocks + b) * kAmxTileTokens + row) * kAmxTileQuants;
}
}  // namespace

void activation_tiles(const uint8_t* act_row, int t, int64_t n_blocks, uint8_t* tiles) {
  const auto* blocks = reinterpret_cast<const BlockQ8_0*>(act_row);
  for (int64_t b = 0; b < n_blocks; ++b) std::memcpy(tiles + tile_offset(t, n_blocks, b), blocks[b].qs, kQK);
}

void padding_tile_row(int t, int64_t n_blocks, uint8_t* tiles, float* scales) {
  std::fill_n(scales, n_blocks, 0.0f);
  for (int64_t b = 0; b < n_blocks; ++b) std::fill_n(tiles + tile_offset(t, n_blocks, b), kAmxTileQuants, uint8_t{0});
}

namespace amx {
bool handles(GgmlType type) { return type == GgmlType::Q8_0 || type == GgmlType::Q4_0; }

int64_t chunk_groups(size_t group_bytes) {
  return std::max<int64_t>(2 * kPairsAtOnce, static_cast<int64_t>(kChunkBytes / group_bytes) / 2 * 2);
}

int64_t slice_blocks(int64_t n_blocks, int64_t n_groups) {
  const int64_t most = std::max<int64_t>(1, static_cast<int64_t>(kChunkBytes / (static_cast<size_t>(n_groups) * kOperandBytes)));
  const int64_t n_slices = (n_blocks + most - 1) / most;
  return (n_blocks + n_slices - 1) / n_slices;
}

size_t operand_scratch_bytes(int64_t n_blocks, size_t group_bytes) {
  const int64_t groups = chunk_groups(group_bytes);
  return static_cast<size_t>(groups * slice_blocks(n_blocks, groups)) * kOperandBytes;
}
}  // namespace amx

}  // namespace alloy::cpu
