// Tile kernels with AVX2 (VPMADDUBSW + VPMADDWD), for x86-64 CPUs without AVX-512 VNNI.
// Each (row, token) output performs the operations of the AVX2 vec_dot kernels in
// vec_dot_avx2.cpp, so results are bit-identical to vec_dot.
#include "backend/cpu/tile_kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/tile_dispatch.h"
#include "backend/cpu/x86_simd.h"

namespace alloy::cpu::avx2 {
namespace {

using x86::hsum_float_8;
using x86::load256;
using x86::load_f16_hw;
using x86::block_at;
using x86::store_tile;
using x86::zero_tile;

// Q8_0 x Q8_0: lanes = VPMADDWD(VPMADDUBSW(|w|, sign(y, w)), 1), exact while y != -128.
struct Q8_0Kernel {
  template <int R, int T>
  static void run(const TileArgs& g) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[R][T];
    zero_tile(acc);
    for (int64_t i = 0; i < g.n / kQK; ++i) {
      __m256i w[R];
      __m256i w_abs[R];
      float dw[R];
      for (int r = 0; r < R; ++r) {
        const BlockQ8_0& b = block_at<BlockQ8_0>(g.w + r * g.w_stride, i);
        x86::prefetch_next_tile(g, R, &b);
        w[r] = load256(b.qs);
        w_abs[r] = _mm256_sign_epi8(w[r], w[r]);
        dw[r] = load_f16_hw(b.d);
      }
      for (int t = 0; t < T; ++t) {
        const BlockQ8_0& y = block_at<BlockQ8_0>(g.a + t * g.a_stride, i);
        const __m256i yq = load256(y.qs);
        const float dy = load_f16_hw(y.d);
        for (int r = 0; r < R; ++r) {
          const __m256i products = _mm256_maddubs_epi16(w_abs[r], _mm256_sign_epi8(yq, w[r]));
          const __m256i lanes = _mm256_madd_epi16(products, ones);
          acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw[r] * dy), _mm256_cvtepi32_ps(lanes), acc[r][t]);
        }
      }
    }
    store_tile(g, acc);
  }
};

// Q4_0 x Q8_0: lanes = VPMADDWD(VPMADDUBSW(q, y), 1) - 8 * sum y, q the 4-bit quants
// (0..15, so a pair of products stays within int16: 2 * 15 * 127).
struct Q4_0Kernel {
  template <int R, int T>
  static void run(const TileArgs& g) {
    const __m256i ones = _mm256_set1_epi16(1);
    const __m256i eight = _mm256_set1_epi8(8);
    __m256 acc[R][T];
    zero_tile(acc);
    for (int64_t i = 0; i < g.n / kQK; ++i) {
      __m256i y[T];
      __m256i offset[T];
      float dy[T];
      for (int t = 0; t < T; ++t) {
        const BlockQ8_0& b = block_at<BlockQ8_0>(g.a + t * g.a_stride, i);
        y[t] = load256(b.qs);
        offset[t] = _mm256_madd_epi16(_mm256_maddubs_epi16(eight, y[t]), ones);
        dy[t] = load_f16_hw(b.d);
      }
      for (int r = 0; r < R; ++r) {
        const BlockQ4_0& b = block_at<BlockQ4_0>(g.w + r * g.w_stride, i);
        x86::prefetch_next_tile(g, R, &b);
        const __m256i q = x86::unpack_nibbles_32(b.qs);
        const float dw = load_f16_hw(b.d);
        for (int t = 0; t < T; ++t) {
          const __m256i sums = _mm256_madd_epi16(_mm256_maddubs_epi16(q, y[t]), ones);
          const __m256i lanes = _mm256_sub_epi32(sums, offset[t]);
          acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dy[t]), _mm256_cvtepi32_ps(lanes), acc[r][t]);
        }
      }
    }
    store_tile(g, acc);
  }
};

}  // namespace

TileKernel tile_kernel(GgmlType type) {
  if (type == GgmlType::Q8_0) return make_tile_kernel<Q8_0Kernel>();
  if (type == GgmlType::Q4_0) return make_tile_kernel<Q4_0Kernel>();
  return TileKernel{};
}

}  // namespace alloy::cpu::avx2

#endif
