// The Q8_0 and Q4_0 prompt matmuls of packed_matmul.h with AMX tiles (Intel Sapphire Rapids and later):
// blocks of 32 tokens x 32 rows (two token tiles x two 16-row groups, four 16x16 int32 tiles),
// one tile product per 32-quant block, because Q8_0 and Q4_0 scale every block; up to six such
// group pairs share each block's activation tile loads (tile_pairs). Each chunk of group
// pairs (in slices of its blocks when its rows are wide) that stays in L2 while every token
// block passes over it (kChunkBytes, slice_blocks) is first copied into the caller's scratch as signed weight operands (signed_weights: 8 rows of 64
// bytes per group and block, four quants of each of the 16 rows per row, the layout repack.h
// gives Q8_0 for VPDPBUSD, Q4_0 unpacked), so the tile products are signed x signed (TDPBSSD)
// and need no offset correction, and Q4_0 is unpacked once per chunk instead of once per
// token block. The activation quants come copied into tile order (activation_tiles: 512
// contiguous bytes per tile, which loads faster than 16 rows a_stride apart: 250 against 148
// GMAC/s measured). A prompt whose token count is not a multiple of 16 runs its last tile
// with padding rows (the caller's tables hold them; their outputs are not stored).
//
// Numerics: the tile products are the exact integer block dots, equal to the VNNI kernel's
// offset dots minus the caller's block sums; each output adds fma(d_w * d_a, float(dot), acc)
// block by block from 0 - the same operations, in the same order, as the VNNI kernel, so the
// two are bit-identical (test_packed_matmul checks it). An odd last group goes to the VNNI
// kernel.
#include "backend/cpu/packed_matmul.h"

#if defined(__AMX_TILE__) && defined(__AMX_INT8__) && defined(__AVX512F__) && defined(__AVX512VNNI__)

#include <immintrin.h>

#include <algorithm>
#include <cstring>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace alloy::cpu::amx {
namespace {

constexpr int kTile = kAmxTileTokens;    // rows of a C tile (tokens) and its int32 columns (weight rows)
static_assert(kTile == 16, "AMX tiles have 16 rows");
constexpr int kBlockTokens = 2 * kTile;  // one block of work: 32 tokens x 2 groups of 16 rows
constexpr size_t kScaleBytes = 32;       // 16 f16 weight scales ahead of each packed Q8_0 block
constexpr size_t kWordBytes = 64;
constexpr size_t kCRowBytes = kTile * sizeof(int32_t);
constexpr size_t kTileBytes = kTile * kAmxTileQuants;  // one activation tile

// The AMX tile configuration (palette 1), as LDTILECFG reads it.
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

// tmm0, tmm1: weights of groups g, g + 1 (8 rows of 64 bytes); tmm2, tmm3: activations of
// tokens t0 .. t0 + 15 and t0 + 16 .. t0 + 31 (16 rows of 32 quants); tmm4 .. tmm7: C tiles
// (token tile, group) = (0,0), (1,0), (0,1), (1,1), 16 rows of 16 int32.
void configure_tiles() {
  TileConfig config;
  for (int t = 0; t < 2; ++t) config.rows[t] = 8, config.colsb[t] = kWordBytes;
  for (int t = 2; t < 4; ++t) config.rows[t] = kTile, config.colsb[t] = kAmxTileQuants;
  for (int t = 4; t < 8; ++t) config.rows[t] = kTile, config.colsb[t] = kCRowBytes;
  // Not _tile_loadconfig: GCC 12's version tells the compiler it reads only the first 8
  // bytes, which lets the stores of rows and colsb move past it (seen: SIGILL on tileloadd).
  __asm__ volatile("ldtilecfg %0" : : "m"(config));
}

// One pair's four tile products of a block (int32), then the float sums of all blocks so far
// of each pair, both as [tile (token tile + 2 * group)][16 tokens][16 rows]. The sums start
// 2 KiB past a 4 KiB boundary from the products: a tile's loads of its products and stores of
// its sums then never share an address modulo 4 KiB, which makes the CPU wait for a store that
// a load only seems to depend on (measured: 105 -> 145 GMAC/s when both were 4 KiB apart).
struct alignas(64) BlockScratch {
  int32_t c[4][kTile][kTile];
  uint8_t gap[2048];
  float acc[kPairsAtOnce][4][kTile][kTile];
};
static_assert(kOperandBytes == 8 * kWordBytes, "one group's weight operand of one block: 8 rows of 64 bytes");

// Blocks [b0, b1) of groups [g0, g1) as signed weight operands, group after group, block after
// block, into `out` (Invariant: room for (g1 - g0) * (b1 - b0) operands): a Q8_0 block's words
// with the +128 of the packed quants removed; a Q4_0 block's four words unpacked (row j: low
// nibbles of word j = quants 4j..4j+3 of each row; row 4 + j: its high nibbles = quants 16 + 4j..)
// minus 8.
template <bool kQ8>
void signed_weights(const PackedMatmulArgs& a, int64_t g0, int64_t g1, int64_t b0, int64_t b1, uint8_t* out) {
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* block = a.packed + static_cast<size_t>(g) * a.group_bytes + static_cast<size_t>(b0) * a.block_bytes;
    for (int64_t b = b0; b < b1; ++b, block += a.block_bytes, out += kOperandBytes) {
      const uint8_t* words = block + kScaleBytes;
      if constexpr (kQ8) {
        const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
        for (int j = 0; j < 8; ++j) {
          const __m512i q = _mm512_loadu_si512(words + j * kWordBytes);
          _mm512_storeu_si512(out + j * kWordBytes, _mm512_xor_si512(q, flip));
        }
      } else {
        const __m512i low4 = _mm512_set1_epi8(0xF), eight = _mm512_set1_epi8(8);
        for (int j = 0; j < 4; ++j) {
          const __m512i packed = _mm512_loadu_si512(words + j * kWordBytes);
          const __m512i low = _mm512_and_si512(packed, low4);
          const __m512i high = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
          _mm512_storeu_si512(out + j * kWordBytes, _mm512_sub_epi8(low, eight));
          _mm512_storeu_si512(out + (4 + j) * kWordBytes, _mm512_sub_epi8(high, eight));
        }
      }
    }
  }
}

// The tile products of one block for groups g, g + 1 (weight operands w0, w1) and the
// activation tiles already in tmm2 (and tmm3 when kTokenTiles is 2), into c.
template <int kTokenTiles>
inline void tile_products(const uint8_t* w0, const uint8_t* w1, int32_t (&c)[4][kTile][kTile]) {
  _tile_loadd(0, w0, kWordBytes);
  _tile_loadd(1, w1, kWordBytes);
  _tile_zero(4);
  _tile_zero(6);
  if constexpr (kTokenTiles == 2) {
    _tile_zero(5);
    _tile_zero(7);
  }
  _tile_dpbssd(4, 2, 0);
  _tile_dpbssd(6, 2, 1);
  if constexpr (kTokenTiles == 2) {
    _tile_dpbssd(5, 3, 0);
    _tile_dpbssd(7, 3, 1);
  }
  _tile_stored(4, c[0], kCRowBytes);
  _tile_stored(6, c[2], kCRowBytes);
  if constexpr (kTokenTiles == 2) {
    _tile_stored(5, c[1], kCRowBytes);
    _tile_stored(7, c[3], kCRowBytes);
  }
}

// acc[tile (tt + 2 * group)] += (d_w * d_a) * float(c) for token tile tt of both groups,
// each token's scale loaded once for the two.
template <bool kFirst>
inline void scale_token_tile(const int32_t (&c)[4][kTile][kTile], const uint8_t* w0, const uint8_t* w1, const PackedMatmulArgs& a,
                             int t0, int64_t b, int tt, float (&acc)[4][kTile][kTile]) {
  const __m512 dw0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w0)));
  const __m512 dw1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w1)));
  const float* scales = a.act_scales + static_cast<size_t>(t0 + kTile * tt) * a.sums_stride + static_cast<size_t>(b);
  for (int m = 0; m < kTile; ++m) {
    const __m512 da = _mm512_set1_ps(scales[static_cast<size_t>(m) * a.sums_stride]);
    const __m512 d0 = _mm512_mul_ps(dw0, da), d1 = _mm512_mul_ps(dw1, da);
    const __m512 c0 = _mm512_cvtepi32_ps(_mm512_load_si512(c[tt][m]));
    const __m512 c1 = _mm512_cvtepi32_ps(_mm512_load_si512(c[tt + 2][m]));
    float* row0 = acc[tt][m];
    float* row1 = acc[tt + 2][m];
    const __m512 sum0 = kFirst ? _mm512_setzero_ps() : _mm512_load_ps(row0);
    const __m512 sum1 = kFirst ? _mm512_setzero_ps() : _mm512_load_ps(row1);
    _mm512_store_ps(row0, _mm512_fmadd_ps(d0, c0, sum0));
    _mm512_store_ps(row1, _mm512_fmadd_ps(d1, c1, sum1));
  }
}

template <bool kFirst, int kTokenTiles>
inline void scale_block(const PackedMatmulArgs& a, const uint8_t* w0, const uint8_t* w1, int t0, int64_t b,
                        const int32_t (&c)[4][kTile][kTile], float (&acc)[4][kTile][kTile]) {
  scale_token_tile<kFirst>(c, w0, w1, a, t0, b, 0, acc);
  if constexpr (kTokenTiles == 2) scale_token_tile<kFirst>(c, w0, w1, a, t0, b, 1, acc);
}

// Calls visit(output row, sums row) for each output row of tile_pairs' pairs and tokens.
template <int kTokenTiles, typename Visit>
void for_each_output_row(const PackedMatmulArgs& a, int64_t g, int n_pairs, int t0, int n_tokens, BlockScratch& s, Visit visit) {
  for (int p = 0; p < n_pairs; ++p) {
    for (int k = 0; k < 4; ++k) {
      const int tt = k % 2, gg = k / 2;
      if (tt >= kTokenTiles) continue;
      const int rows = std::min(kTile, n_tokens - t0 - kTile * tt);
      for (int m = 0; m < rows; ++m) {
        visit(a.out + static_cast<size_t>(t0 + kTile * tt + m) * a.out_stride + static_cast<size_t>(g + 2 * p + gg) * kTile,
              s.acc[p][k][m]);
      }
    }
  }
}

// Outputs of groups g .. g + 2 * n_pairs - 1 for tokens t0 .. t0 + 16 * kTokenTiles - 1 over
// blocks b0 .. b1 - 1, block after block, stored for the tokens below n_tokens (the last block
// of a prompt may be partly padding); `operands` holds the signed weight operands of those
// groups and blocks (signed_weights). A slice after the first goes on from the sums the
// earlier ones stored: the same float steps as one pass over all blocks (slices keep six
// pairs in a chunk of rows of 8960: 1536 x 8960, one thread, best of 4, three runs: 170-176
// against 158-160 GMAC/s with one pair per 512 KiB chunk; 896 x 4864 even). Each block's
// activation tiles are loaded once for all n_pairs pairs: tile loads come from L2 at about
// 1.5 ns per row here, and the activations' 32 rows were the larger part of a pair's 48. Measured (Sapphire Rapids VM, 512 tokens, one thread, best of 5,
// alternating with one pair per load in three runs): 4864 x 896 Q8_0 182-190 -> 195-205,
// 896 x 4864 206-222 -> 221-244 GMAC/s; pp512 alternating in one process, 2 threads: 0.5B
// Q8_0 shape +10.7 % (13 of 16 rounds), 1.5B +4.7 % (5 of 8); 2, 3, 4, 6 and 8 pairs at once
// gave +1.5, +1.5, +6 to +7, +9 and +9 % on the 0.5B. Each token's scale is loaded once for
// both groups of a pair (scale_token_tile).
// Tried before (the one-pair kernel, 4864 x 896, 512 tokens, one thread): overlapping the tile
// products of block b with the scaling of block b - 1 (two or three C buffers): 121 and 105
// against 144 GMAC/s; one C tile per pass with its accumulators in registers, the product of
// block b + 1 issued before block b is scaled: 198 / 236 against 196 / 254 (896 x 4864 second);
// its parts alone, tile products and stores 308, scaling 243 - their times add up: the two
// never overlapped in any order tried. Two C buffers alternating between pairs here: no
// difference (6 runs). TDPBF16PS on the quants as bf16 (exact: every partial sum is an integer
// below 2^24, so no int-to-float conversion in the scaling, bit-identical): 136 / 142 against
// 191 / 240 GMAC/s (twice the tile bytes to load).
template <int kTokenTiles>
void tile_pairs(const PackedMatmulArgs& a, int64_t g, int n_pairs, const uint8_t* operands, int64_t b0, int64_t b1,
                int t0, int n_tokens, BlockScratch& s) {
  const size_t tile_row_bytes = static_cast<size_t>(a.n_blocks) * kTileBytes;
  const uint8_t* x0 = a.act_tiles + static_cast<size_t>(t0 / kTile) * tile_row_bytes;
  const uint8_t* x1 = x0 + tile_row_bytes;
  const size_t group_operands = static_cast<size_t>(b1 - b0) * kOperandBytes;
  if (b0 > 0) {  // a later slice: the sums go on from the outputs the earlier slices stored
    for_each_output_row<kTokenTiles>(a, g, n_pairs, t0, n_tokens, s, [](const float* out, float* sums) {
      std::memcpy(sums, out, kTile * sizeof(float));
    });
  }
  for (int64_t b = b0; b < b1; ++b) {
    const size_t wb = static_cast<size_t>(b) * a.block_bytes, ob = static_cast<size_t>(b - b0) * kOperandBytes;
    _tile_loadd(2, x0 + static_cast<size_t>(b) * kTileBytes, kAmxTileQuants);
    if constexpr (kTokenTiles == 2) _tile_loadd(3, x1 + static_cast<size_t>(b) * kTileBytes, kAmxTileQuants);
    for (int p = 0; p < n_pairs; ++p) {
      const uint8_t* o0 = operands + 2 * static_cast<size_t>(p) * group_operands + ob;
      tile_products<kTokenTiles>(o0, o0 + group_operands, s.c);
      const uint8_t* w0 = a.packed + static_cast<size_t>(g + 2 * p) * a.group_bytes + wb;  // its f16 scales
      if (b == 0) {
        scale_block<true, kTokenTiles>(a, w0, w0 + a.group_bytes, t0, b, s.c, s.acc[p]);
      } else {
        scale_block<false, kTokenTiles>(a, w0, w0 + a.group_bytes, t0, b, s.c, s.acc[p]);
      }
    }
  }
  for_each_output_row<kTokenTiles>(a, g, n_pairs, t0, n_tokens, s, [](float* out, const float* sums) {
    std::memcpy(out, sums, kTile * sizeof(float));
  });
}

}  // namespace

void packed_matmul(const PackedMatmulArgs& args, int64_t g_begin, int64_t g_end, int n_tokens, uint8_t* operand_scratch) {
  const int64_t pair_end = g_begin + (g_end - g_begin) / 2 * 2;
  if (n_tokens > 0 && pair_end > g_begin) {
    configure_tiles();
    BlockScratch scratch;
    const int64_t chunk = chunk_groups(args.group_bytes);
    const int64_t slice = slice_blocks(args.n_blocks, chunk);  // the operands of one slice fill the scratch
    for (int64_t c0 = g_begin; c0 < pair_end; c0 += chunk) {
      const int64_t c1 = std::min(c0 + chunk, pair_end);
      for (int64_t b0 = 0; b0 < args.n_blocks; b0 += slice) {
        const int64_t b1 = std::min(b0 + slice, args.n_blocks);
        if (args.type == GgmlType::Q8_0) {
          signed_weights<true>(args, c0, c1, b0, b1, operand_scratch);
        } else {
          signed_weights<false>(args, c0, c1, b0, b1, operand_scratch);
        }
        for (int t0 = 0; t0 < n_tokens; t0 += kBlockTokens) {
          const bool one_tile = n_tokens - t0 <= kTile;
          for (int64_t g = c0; g < c1; g += 2 * kPairsAtOnce) {
            const int n_pairs = static_cast<int>(std::min<int64_t>(kPairsAtOnce, (c1 - g) / 2));
            const uint8_t* operands = operand_scratch + static_cast<size_t>((g - c0) * (b1 - b0)) * kOperandBytes;
            if (one_tile) {
              tile_pairs<1>(args, g, n_pairs, operands, b0, b1, t0, n_tokens, scratch);
            } else {
              tile_pairs<2>(args, g, n_pairs, operands, b0, b1, t0, n_tokens, scratch);
            }
          }
        }
      }
    }
    _tile_release();
  }
  avx512::packed_matmul_tokens(args, pair_end, g_end, 0, n_tokens);
}

}  // namespace alloy::cpu::amx

#endif
