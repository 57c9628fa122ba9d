// AVX2 + FMA + F16C versions of the hot dot-product kernels (F16, Q8_0, Q4_0, Q4_K, Q5_K,
// Q6_K: the types of the common GGUF releases). They
// perform the operations of the scalar reference (vec_dot_*.cpp) in the same int32 lanes and
// float order, so they agree with it bit for bit; test_quant checks that.
#include "backend/cpu/vec_dot.h"

#if defined(ALLOY_CPU_HAS_AVX2_KERNELS)

#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/x86_simd.h"

namespace alloy::cpu::avx2 {
namespace {

using x86::hsum_float_8;
using x86::load256;

// Signed bytes x * y summed in groups of 4 into int32 lanes. Exact while y != -128 (the
// activation quants are in [-127, 127]): |x| * (+-y) pairs stay within int16.
__m256i dot_i8_groups_of_4(__m256i x, __m256i y) {
  const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
  return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

// Two int16 scales for the low and high 16 bytes of a 32-byte chunk.
__m256i scale_pair(int low, int high) {
  return _mm256_insertf128_si256(_mm256_castsi128_si256(_mm_set1_epi16(static_cast<int16_t>(low))),
                                 _mm_set1_epi16(static_cast<int16_t>(high)), 1);
}

}  // namespace

float dot_f16(const uint8_t* w, const uint8_t* a, int64_t n) {
  const int64_t full = n & ~static_cast<int64_t>(31);
  __m256 sum[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  for (int64_t i = 0; i < full; i += 32) {
    for (int j = 0; j < 4; ++j) {
      const __m256 x = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * (i + 8 * j))));
      const __m256 y = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 2 * (i + 8 * j))));
      sum[j] = _mm256_fmadd_ps(x, y, sum[j]);
    }
  }
  sum[0] = _mm256_add_ps(sum[0], sum[2]);
  sum[1] = _mm256_add_ps(sum[1], sum[3]);
  sum[0] = _mm256_add_ps(sum[0], sum[1]);
  const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(sum[0]), _mm256_extractf128_ps(sum[0], 1));
  const __m128 t1 = _mm_hadd_ps(t0, t0);
  double total = _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
  for (int64_t i = full; i < n; ++i) {
    uint16_t wb = 0, ab = 0;
    std::memcpy(&wb, w + 2 * i, 2);
    std::memcpy(&ab, a + 2 * i, 2);
    const float product = f16_bits_to_float(wb) * f16_bits_to_float(ab);
    total += static_cast<double>(product);
  }
  return static_cast<float>(total);
}

float dot_q8_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ8_0*>(w);  // byte-only structs: alignment 1
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256 d = _mm256_set1_ps(load_f16(x[i].d) * load_f16(y[i].d));
    const __m256i lanes = dot_i8_groups_of_4(load256(x[i].qs), load256(y[i].qs));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(lanes), acc);
  }
  return hsum_float_8(acc);
}

// Q4_K / Q5_K per super-block: the min term in four lanes (lane m: sub-blocks 2m, 2m + 1)
// and the scaled quant products in eight int32 lanes.
struct KQuantTerms {
  int32_t min_lanes[4];
  __m256i sums;
};

template <typename Block, bool kHasFifthBit>
KQuantTerms q4_k_q5_k_terms(const Block& x, const BlockQ8_K& y) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  ScaleMin sm[8];
  for (int s = 0; s < 8; ++s) sm[s] = k4_scale_min(x.scales, s);
  KQuantTerms terms;
  for (int m = 0; m < 4; ++m) {
    const int bsum_lo = load_q8_k_bsum(y, 4 * m) + load_q8_k_bsum(y, 4 * m + 1);
    const int bsum_hi = load_q8_k_bsum(y, 4 * m + 2) + load_q8_k_bsum(y, 4 * m + 3);
    terms.min_lanes[m] = sm[2 * m].min * bsum_lo + sm[2 * m + 1].min * bsum_hi;
  }
  terms.sums = _mm256_setzero_si256();
  for (int j = 0; j < kQK_K / 64; ++j) {
    const __m256i q4 = load256(x.qs + 32 * j);
    __m256i q_low = _mm256_and_si256(q4, low4);
    __m256i q_high = _mm256_and_si256(_mm256_srli_epi16(q4, 4), low4);
    if constexpr (kHasFifthBit) {  // bit 2j of qh[l] for the low half, bit 2j + 1 for the high half
      const __m256i qh = load256(x.qh);
      const __m256i one = _mm256_set1_epi8(1);
      q_low = _mm256_or_si256(q_low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4));
      q_high = _mm256_or_si256(q_high, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4));
    }
    const __m256i p_low = _mm256_maddubs_epi16(q_low, load256(y.qs + 64 * j));
    const __m256i p_high = _mm256_maddubs_epi16(q_high, load256(y.qs + 64 * j + 32));
    const __m256i s_low = _mm256_madd_epi16(_mm256_set1_epi16(static_cast<int16_t>(sm[2 * j].scale)), p_low);
    const __m256i s_high = _mm256_madd_epi16(_mm256_set1_epi16(static_cast<int16_t>(sm[2 * j + 1].scale)), p_high);
    terms.sums = _mm256_add_epi32(terms.sums, _mm256_add_epi32(s_low, s_high));
  }
  return terms;
}

float dot_q4_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ4_0*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a);
  const __m256i eight = _mm256_set1_epi8(8);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256 d = _mm256_set1_ps(load_f16(x[i].d) * load_f16(y[i].d));
    const __m256i nibbles = x86::unpack_nibbles_32(x[i].qs);  // elements 0..31, minus 8 below
    const __m256i lanes = dot_i8_groups_of_4(_mm256_sub_epi8(nibbles, eight), load256(y[i].qs));
    acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(lanes), acc);
  }
  return hsum_float_8(acc);
}

float dot_q4_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ4_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_min = _mm_setzero_ps();  // Q4_K keeps the min terms in four float lanes
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float yd = load_q8_k_scale(y[i]);
    const float d = yd * load_f16(x[i].d);
    const float dmin = -yd * load_f16(x[i].dmin);
    const KQuantTerms terms = q4_k_q5_k_terms<BlockQ4_K, false>(x[i], y[i]);
    const __m128 mins = _mm_cvtepi32_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(terms.min_lanes)));
    acc_min = _mm_fmadd_ps(_mm_set1_ps(dmin), mins, acc_min);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(terms.sums), acc);
  }
  acc_min = _mm_add_ps(acc_min, _mm_movehl_ps(acc_min, acc_min));
  acc_min = _mm_add_ss(acc_min, _mm_movehdup_ps(acc_min));
  return hsum_float_8(acc) + _mm_cvtss_f32(acc_min);
}

float dot_q5_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ5_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  __m256 acc = _mm256_setzero_ps();
  float min_sum = 0;  // Q5_K sums its min terms in one scalar float, one FMA per block
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float yd = load_q8_k_scale(y[i]);
    const float d = yd * load_f16(x[i].d);
    const float dmin = -yd * load_f16(x[i].dmin);
    const KQuantTerms terms = q4_k_q5_k_terms<BlockQ5_K, true>(x[i], y[i]);
    const int32_t min_total = terms.min_lanes[0] + terms.min_lanes[1] + terms.min_lanes[2] + terms.min_lanes[3];
    min_sum = std::fma(dmin, static_cast<float>(min_total), min_sum);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(terms.sums), acc);
  }
  return hsum_float_8(acc) + min_sum;
}

float dot_q6_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ6_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  const __m256i low4 = _mm256_set1_epi8(0xF);
  const __m256i low2 = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = load_q8_k_scale(y[i]) * load_f16(x[i].d);
    const int8_t* scales = x[i].scales;
    // The -32 offset: lane l gets 32 * (bsum[2l] * scale[2l] + bsum[2l+1] * scale[2l+1]).
    const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
    const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(load256(y[i].bsums), scales16), 5);

    __m256i sumi = _mm256_setzero_si256();
    for (int h = 0; h < kQK_K / 128; ++h) {
      const __m256i ql0 = load256(x[i].ql + 64 * h);
      const __m256i ql1 = load256(x[i].ql + 64 * h + 32);
      const __m256i qh = load256(x[i].qh + 32 * h);
      const __m256i quants[4] = {  // chunk k: low nibble source and bits 2k..2k+1 of qh, as bits 4..5
          _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, low2), 4)),
          _mm256_or_si256(_mm256_and_si256(ql1, low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), low2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), low2), 4)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), low2), 4)),
      };
      for (int k = 0; k < 4; ++k) {
        const __m256i p = _mm256_maddubs_epi16(quants[k], load256(y[i].qs + 128 * h + 32 * k));
        const int sub = 8 * h + 2 * k;
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scale_pair(scales[sub], scales[sub + 1]), p));
      }
    }
    sumi = _mm256_sub_epi32(sumi, offset);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_float_8(acc);
}

}  // namespace alloy::cpu::avx2

#endif  // ALLOY_CPU_HAS_AVX2_KERNELS
