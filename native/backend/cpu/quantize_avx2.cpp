// AVX2 version of quantize_row_q8_0 (quantize_activations.h): ggml's AVX2 code, whose
// operations the scalar version emulates one by one - abs max in 8 lanes folded in the same
// order, VROUNDPS to nearest even, VCVTPS2DQ, saturating packs - so the bytes are identical
// (test_quantize_simd checks them, special values included).
#include "backend/cpu/quantize_activations.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>

#include <cstring>

namespace alloy::cpu::avx2 {

void quantize_row_q8_0(const float* x, int64_t n, uint8_t* out) {
  constexpr size_t kBlockBytes = 34;  // f16 d, 32 int8 quants
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  for (int64_t i = 0; i < n / 32; ++i) {
    const float* b = x + 32 * i;
    uint8_t* block = out + static_cast<size_t>(i) * kBlockBytes;
    __m256 v[4];
    for (int k = 0; k < 4; ++k) v[k] = _mm256_loadu_ps(b + 8 * k);
    __m256 lanes = _mm256_andnot_ps(sign_bit, v[0]);
    for (int k = 1; k < 4; ++k) lanes = _mm256_max_ps(lanes, _mm256_andnot_ps(sign_bit, v[k]));
    __m128 quad = _mm_max_ps(_mm256_extractf128_ps(lanes, 1), _mm256_castps256_ps128(lanes));
    quad = _mm_max_ps(quad, _mm_movehl_ps(quad, quad));
    quad = _mm_max_ss(quad, _mm_movehdup_ps(quad));
    const float amax = _mm_cvtss_f32(quad);
    const float d = amax / 127.f;
    const uint16_t d_bits = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    std::memcpy(block, &d_bits, sizeof d_bits);
    const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.f / amax : 0.0f);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) {
      q[k] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[k], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
    // Saturating packs work within 128-bit lanes; the permute restores element order.
    const __m256i packed16_01 = _mm256_packs_epi32(q[0], q[1]);
    const __m256i packed16_23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i packed8 = _mm256_packs_epi16(packed16_01, packed16_23);
    const __m256i ordered = _mm256_permutevar8x32_epi32(packed8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(block + 2), ordered);
  }
}

}  // namespace alloy::cpu::avx2

#endif
