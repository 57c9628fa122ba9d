// The Q8_0 and Q4_0 prompt matmuls of packed_matmul.h with AMX tiles (Intel Sapphire Rapids and later):
// blocks of 32 tokens x 32 rows (two token tiles x two 16-row groups, four 16x16 int32 tiles),
// one tile product per 32-quant block, because Q8_0 and Q4_0 scale every block. Each chunk of
// group pairs that stays in L2 while every token block passes over it (kChunkBytes) is first
// copied into the caller's scratch as signed weight operands (signed_weights: 8 rows of 64
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

// One block's four tile products (int32), then the float sums of all blocks so far, both
// as [tile (token tile + 2 * group)][16 tokens][16 rows]. The sums start 2 KiB past a 4 KiB
// boundary from the products: a tile's loads of its products and stores of its sums then
// never share an address modulo 4 KiB, which makes the CPU wait for a store that a load
// only seems to depend on (measured: 105 -> 145 GMAC/s when both were 4 KiB apart).
struct alignas(64) BlockScratch {
  int32_t c[4][kTile][kTile];
  uint8_t gap[2048];
  float acc[4][kTile][kTile];
};
static_assert(kOperandBytes == 8 * kWordBytes, "one group's weight operand of one block: 8 rows of 64 bytes");

// acc[token m of token tile tt][row] += (d_w * d_a) * float(c), for block b; the
// first block adds to 0 (as the VNNI kernel's zeroed accumulators) without reading acc.
template <bool kFirst>
inline void scale_tile(const int32_t (&c)[kTile][kTile], const uint8_t* group_block, const PackedMatmulArgs& a,
                       int t0, int64_t b, int tt, float (&acc)[kTile][kTile]) {
  uint16_t dw_bits[kTile];
  std::memcpy(dw_bits, group_block, sizeof dw_bits);
  const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(dw_bits)));
  const float* scales = a.act_scales + static_cast<size_t>(t0 + kTile * tt) * a.sums_stride + static_cast<size_t>(b);
  for (int m = 0; m < kTile; ++m) {
    const __m512i dot = _mm512_load_si512(c[m]);
    const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(scales[static_cast<size_t>(m) * a.sums_stride]));
    float* row = acc[m];
    const __m512 sum = kFirst ? _mm512_setzero_ps() : _mm512_load_ps(row);
    _mm512_store_ps(row, _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(dot), sum));
  }
}

// Groups [g0, g1) as signed weight operands, group after group, block after block, into
// `out` (Invariant: room for (g1 - g0) * n_blocks operands): a Q8_0 block's words with the
// +128 of the packed quants removed; a Q4_0 block's four words unpacked (row j: low nibbles
// of word j = quants 4j..4j+3 of each row; row 4 + j: its high nibbles = quants 16 + 4j..)
// minus 8.
template <bool kQ8>
void signed_weights(const PackedMatmulArgs& a, int64_t g0, int64_t g1, uint8_t* out) {
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* block = a.packed + static_cast<size_t>(g) * a.group_bytes;
    for (int64_t b = 0; b < a.n_blocks; ++b, block += a.block_bytes, out += kOperandBytes) {
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

// The tile products of block b into s.c: token tile 0 (and 1 when kTokenTiles is 2) times
// groups g, g + 1.
template <int kTokenTiles>
inline void tile_products(const uint8_t* w0, const uint8_t* w1, const uint8_t* x0, const uint8_t* x1, BlockScratch& s) {
  _tile_loadd(0, w0, kWordBytes);
  _tile_loadd(1, w1, kWordBytes);
  _tile_loadd(2, x0, kAmxTileQuants);
  if constexpr (kTokenTiles == 2) _tile_loadd(3, x1, kAmxTileQuants);
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
  _tile_stored(4, s.c[0], kCRowBytes);
  _tile_stored(6, s.c[2], kCRowBytes);
  if constexpr (kTokenTiles == 2) {
    _tile_stored(5, s.c[1], kCRowBytes);
    _tile_stored(7, s.c[3], kCRowBytes);
  }
}

template <bool kFirst, int kTokenTiles>
inline void scale_block(const PackedMatmulArgs& a, const uint8_t* w0, const uint8_t* w1, int t0, int64_t b, BlockScratch& s) {
  scale_tile<kFirst>(s.c[0], w0, a, t0, b, 0, s.acc[0]);
  scale_tile<kFirst>(s.c[2], w1, a, t0, b, 0, s.acc[2]);
  if constexpr (kTokenTiles == 2) {
    scale_tile<kFirst>(s.c[1], w0, a, t0, b, 1, s.acc[1]);
    scale_tile<kFirst>(s.c[3], w1, a, t0, b, 1, s.acc[3]);
  }
}

// Outputs of groups g, g + 1 for tokens t0 .. t0 + 16 * kTokenTiles - 1, block after block,
// stored for the tokens below n_tokens (the last block of a prompt may be partly padding);
// `operands` holds the signed weight operands of groups g, g + 1 (signed_weights). Measured
// on this Sapphire Rapids VM (4864 x 896 Q8_0, 512 tokens, one thread, one run): this plain
// order 144 GMAC/s; overlapping the tile products of block b with the scaling of block b - 1
// (two or three C buffers) 121 and 105. Tile loads are the slow part here (about 1.5 ns per
// row: a pure loop of tile products runs at 7 ns each, 30 ns with its four loads). Also tried
// (4864 x 896 and 896 x 4864, 512 tokens, one thread, alternating with this kernel, 2026-11-30):
// one C tile per pass with its accumulators in registers, the product of block b + 1 issued
// before block b is scaled, 198 / 236 against 196 / 254 GMAC/s; the same with the tile store
// after the scaling, 200 / 228 against 197 / 252. Its parts alone (4864 x 896): tile products
// and stores 308, scaling 243 - their times add up: the two never overlapped in any order tried.
template <int kTokenTiles>
void token_block(const PackedMatmulArgs& a, int64_t g, const uint8_t* operands, int t0, int n_tokens, BlockScratch& s) {
  const uint8_t* w0 = a.packed + static_cast<size_t>(g) * a.group_bytes;  // the f16 scales ahead of each block
  const uint8_t* w1 = w0 + a.group_bytes;
  const uint8_t* o0 = operands;
  const uint8_t* o1 = operands + static_cast<size_t>(a.n_blocks) * kOperandBytes;
  const size_t tile_row_bytes = static_cast<size_t>(a.n_blocks) * kTileBytes;
  const uint8_t* x0 = a.act_tiles + static_cast<size_t>(t0 / kTile) * tile_row_bytes;
  const uint8_t* x1 = x0 + tile_row_bytes;
  tile_products<kTokenTiles>(o0, o1, x0, x1, s);
  scale_block<true, kTokenTiles>(a, w0, w1, t0, 0, s);
  for (int64_t b = 1; b < a.n_blocks; ++b) {
    const size_t wb = static_cast<size_t>(b) * a.block_bytes, xb = static_cast<size_t>(b) * kTileBytes;
    const size_t ob = static_cast<size_t>(b) * kOperandBytes;
    tile_products<kTokenTiles>(o0 + ob, o1 + ob, x0 + xb, x1 + xb, s);
    scale_block<false, kTokenTiles>(a, w0 + wb, w1 + wb, t0, b, s);
  }
  for (int k = 0; k < 4; ++k) {
    const int tt = k % 2, gg = k / 2;
    if (tt >= kTokenTiles) continue;
    const int rows = std::min(kTile, n_tokens - t0 - kTile * tt);
    for (int m = 0; m < rows; ++m) {
      float* out = a.out + static_cast<size_t>(t0 + kTile * tt + m) * a.out_stride + static_cast<size_t>(g + gg) * kTile;
      std::memcpy(out, s.acc[k][m], sizeof s.acc[k][m]);
    }
  }
}

}  // namespace

void packed_matmul(const PackedMatmulArgs& args, int64_t g_begin, int64_t g_end, int n_tokens, uint8_t* operand_scratch) {
  const int64_t pair_end = g_begin + (g_end - g_begin) / 2 * 2;
  if (n_tokens > 0 && pair_end > g_begin) {
    configure_tiles();
    BlockScratch scratch;
    const int64_t chunk = chunk_groups(args.group_bytes);  // the operands of one chunk fill the scratch
    for (int64_t c0 = g_begin; c0 < pair_end; c0 += chunk) {
      const int64_t c1 = std::min(c0 + chunk, pair_end);
      if (args.type == GgmlType::Q8_0) {
        signed_weights<true>(args, c0, c1, operand_scratch);
      } else {
        signed_weights<false>(args, c0, c1, operand_scratch);
      }
      for (int t0 = 0; t0 < n_tokens; t0 += kBlockTokens) {
        const bool one_tile = n_tokens - t0 <= kTile;
        for (int64_t g = c0; g < c1; g += 2) {
          const uint8_t* operands = operand_scratch + static_cast<size_t>((g - c0) * args.n_blocks) * kOperandBytes;
          if (one_tile) {
            token_block<1>(args, g, operands, t0, n_tokens, scratch);
          } else {
            token_block<2>(args, g, operands, t0, n_tokens, scratch);
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
