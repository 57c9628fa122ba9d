// AVX2 + FMA + F16C versions of the hot dot-product kernels (F16, Q8_0, Q4_0, Q5_0, Q4_K,
// Q5_K, Q6_K: the types of the common GGUF releases). They
// perform the operations of the scalar reference (vec_dot_*.cpp) in the same int32 lanes and
// float order, so they agree with it bit for bit; test_quant checks that.
#include "backend/cpu/vec_dot.h"

#if defined(ALLOY_CPU_HAS_AVX2_KERNELS)

#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/quant_parts_avx2.h"

namespace alloy::cpu::avx2 {

using x86::dot_i8_groups_of_4;
using x86::hsum_float_8;
using x86::load256;

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

float dot_q5_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ5_0*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256 d = _mm256_set1_ps(load_f16(x[i].d) * load_f16(y[i].d));
    const __m256i lanes = dot_i8_groups_of_4(x86::q5_0_quants(x[i]), load256(y[i].qs));
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
    x86::K45Weights weights;
    x86::decode_k45<BlockQ4_K, false>(x[i], weights);
    const x86::KQuantTerms terms = x86::k45_terms(weights, y[i]);
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
    x86::K45Weights weights;
    x86::decode_k45<BlockQ5_K, true>(x[i], weights);
    const x86::KQuantTerms terms = x86::k45_terms(weights, y[i]);
    const int32_t min_total = terms.min_lanes[0] + terms.min_lanes[1] + terms.min_lanes[2] + terms.min_lanes[3];
    min_sum = std::fma(dmin, static_cast<float>(min_total), min_sum);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(terms.sums), acc);
  }
  return hsum_float_8(acc) + min_sum;
}

float dot_q6_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ6_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = load_q8_k_scale(y[i]) * load_f16(x[i].d);
    x86::Q6KWeights weights;
    x86::decode_q6_k(x[i], weights);
    const __m256i sumi = x86::q6_k_lanes(weights, y[i]);
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum_float_8(acc);
}

}  // namespace alloy::cpu::avx2

#endif  // ALLOY_CPU_HAS_AVX2_KERNELS
