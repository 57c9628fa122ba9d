// Tile kernels with AVX2 (VPMADDUBSW + VPMADDWD), for x86-64 CPUs without AVX-512 VNNI:
// Q8_0, Q5_0, Q4_0, Q4_K, Q5_K and Q6_K (the types of the common GGUF releases, Q4_K_M's
// Q5_0 fallback included). Each (row, token) output performs the operations of the AVX2
// vec_dot kernels in vec_dot_avx2.cpp, so results are bit-identical to vec_dot. (Before the
// K-quant and Q5_0 tiles, a 0.5B-shape Q4_K_M prompt ran one vec_dot per output, Q5_0's
// scalar: 2-3 tokens/s with AVX2 against llama.cpp's 66.)
#include "backend/cpu/tile_kernels.h"

#include <cmath>
#include <type_traits>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/quant_parts_avx2.h"
#include "backend/cpu/tile_dispatch.h"

namespace alloy::cpu::avx2 {
namespace {

using x86::hsum_float_8;
using x86::load256;
using x86::load_f16_hw;
using x86::block_at;
using x86::store_tile;
using x86::zero_tile;

// Signed weight quants x Q8_0: lanes = VPMADDWD(VPMADDUBSW(|w|, sign(y, w)), 1), exact while
// y != -128. Block: Q8_0 (its quants) or Q5_0 (quant_parts_avx2.h: q5_0_quants).
template <typename Block>
struct SignedKernel {
  static __m256i quants(const Block& b) {
    if constexpr (std::is_same_v<Block, BlockQ8_0>) {
      return load256(b.qs);
    } else {
      return x86::q5_0_quants(b);
    }
  }

  template <int R, int T>
  static void run(const TileArgs& g) {
    __m256 acc[R][T];
    zero_tile(acc);
    for (int64_t i = 0; i < g.n / kQK; ++i) {
      __m256i w[R];
      __m256i w_abs[R];
      float dw[R];
      for (int r = 0; r < R; ++r) {
        const Block& b = block_at<Block>(g.w + r * g.w_stride, i);
        x86::prefetch_next_tile(g, R, &b);
        w[r] = quants(b);
        w_abs[r] = _mm256_sign_epi8(w[r], w[r]);
        dw[r] = load_f16_hw(b.d);
      }
      for (int t = 0; t < T; ++t) {
        const BlockQ8_0& y = block_at<BlockQ8_0>(g.a + t * g.a_stride, i);
        const __m256i yq = load256(y.qs);
        const float dy = load_f16_hw(y.d);
        for (int r = 0; r < R; ++r) {
          const __m256i lanes = x86::dot_i8_groups_of_4_abs(w[r], w_abs[r], yq);
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

// K-quants x Q8_K: each weight super-block decoded once per tile (quant_parts_avx2.h), then
// its integer products with every token's block and the float steps of the type's vec_dot.
// Q4_K keeps its min terms in four float lanes, Q5_K in one scalar float.
template <typename Block, bool kFifthBit, bool kMinLanes>
struct K45Kernel {
  template <int R, int T>
  static void run(const TileArgs& g) {
    __m256 acc[R][T];
    __m128 acc_min[R][T];
    float min_sum[R][T];
    zero_tile(acc);
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) acc_min[r][t] = _mm_setzero_ps(), min_sum[r][t] = 0.0f;
    }
    for (int64_t i = 0; i < g.n / kQK_K; ++i) {
      x86::K45Weights w[R];
      float dw[R], dmin_w[R];
      for (int r = 0; r < R; ++r) {
        const Block& b = block_at<Block>(g.w + r * g.w_stride, i);
        x86::prefetch_next_tile(g, R, &b);
        x86::decode_k45<Block, kFifthBit>(b, w[r]);
        dw[r] = load_f16_hw(b.d);
        dmin_w[r] = load_f16_hw(b.dmin);
      }
      for (int t = 0; t < T; ++t) {
        const BlockQ8_K& y = block_at<BlockQ8_K>(g.a + t * g.a_stride, i);
        const float yd = load_q8_k_scale(y);
        for (int r = 0; r < R; ++r) {
          const x86::KQuantTerms terms = x86::k45_terms(w[r], y);
          const float dmin = -yd * dmin_w[r];
          if constexpr (kMinLanes) {
            const __m128 mins = _mm_cvtepi32_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(terms.min_lanes)));
            acc_min[r][t] = _mm_fmadd_ps(_mm_set1_ps(dmin), mins, acc_min[r][t]);
          } else {
            const int32_t total = terms.min_lanes[0] + terms.min_lanes[1] + terms.min_lanes[2] + terms.min_lanes[3];
            min_sum[r][t] = std::fma(dmin, static_cast<float>(total), min_sum[r][t]);
          }
          acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(yd * dw[r]), _mm256_cvtepi32_ps(terms.sums), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) {
        float mins = min_sum[r][t];
        if constexpr (kMinLanes) {
          __m128 m = _mm_add_ps(acc_min[r][t], _mm_movehl_ps(acc_min[r][t], acc_min[r][t]));
          mins = _mm_cvtss_f32(_mm_add_ss(m, _mm_movehdup_ps(m)));
        }
        g.out[static_cast<size_t>(t) * g.out_stride + r] = hsum_float_8(acc[r][t]) + mins;
      }
    }
  }
};

struct Q6KKernel {
  template <int R, int T>
  static void run(const TileArgs& g) {
    __m256 acc[R][T];
    zero_tile(acc);
    for (int64_t i = 0; i < g.n / kQK_K; ++i) {
      x86::Q6KWeights w[R];
      float dw[R];
      for (int r = 0; r < R; ++r) {
        const BlockQ6_K& b = block_at<BlockQ6_K>(g.w + r * g.w_stride, i);
        x86::prefetch_next_tile(g, R, &b);
        x86::decode_q6_k(b, w[r]);
        dw[r] = load_f16_hw(b.d);
      }
      for (int t = 0; t < T; ++t) {
        const BlockQ8_K& y = block_at<BlockQ8_K>(g.a + t * g.a_stride, i);
        const float yd = load_q8_k_scale(y);
        for (int r = 0; r < R; ++r) {
          const __m256i lanes = x86::q6_k_lanes(w[r], y);
          acc[r][t] = _mm256_fmadd_ps(_mm256_set1_ps(yd * dw[r]), _mm256_cvtepi32_ps(lanes), acc[r][t]);
        }
      }
    }
    store_tile(g, acc);
  }
};

}  // namespace

TileKernel tile_kernel(GgmlType type) {
  switch (type) {
    case GgmlType::Q8_0: return make_tile_kernel<SignedKernel<BlockQ8_0>>();
    case GgmlType::Q5_0: return make_tile_kernel<SignedKernel<BlockQ5_0>>();
    case GgmlType::Q4_0: return make_tile_kernel<Q4_0Kernel>();
    case GgmlType::Q4_K: return make_tile_kernel<K45Kernel<BlockQ4_K, false, true>>();
    case GgmlType::Q5_K: return make_tile_kernel<K45Kernel<BlockQ5_K, true, false>>();
    case GgmlType::Q6_K: return make_tile_kernel<Q6KKernel>();
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q4_1:
    case GgmlType::Q5_1:
    case GgmlType::Q2_K:
    case GgmlType::Q3_K:
    ALLOY_UNSUPPORTED_WEIGHT_TYPE_CASES:
      break;
  }
  return TileKernel{};
}

}  // namespace alloy::cpu::avx2

#endif
