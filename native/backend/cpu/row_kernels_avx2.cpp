// AVX2 versions of row kernels of cpu_kernels.h (softmax, SwiGLU, RoPE) for CPUs without
// AVX-512. They run the scalar emulation's operations lane for lane - ggml's AVX-512 vector exp
// included, its VSCALEFPS (j * 2^n, one rounding) done as two multiplications by powers of two,
// the first exact - so the results are bit-identical to it (test_row_kernels checks that).
// This file odr-uses no inline function of another header (see x86_simd.h for why).
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/row_simd.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>

#include <cmath>

#include "backend/cpu/x86_simd.h"

namespace alloy::cpu::avx2 {
namespace {

// 2^e for integral e in [-126, 127], as a float.
__m256 power_of_two(__m256i e) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
}

// ggml_vector_expf (cpu_kernels.cpp) on 8 lanes.
__m256 expf8(__m256 x) {
  const __m256 r = _mm256_set1_ps(0x1.8p23f);
  const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
  const __m256 n = _mm256_sub_ps(z, r);
  const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
  const __m256 u = _mm256_mul_ps(b, b);
  const __m256 j = _mm256_fmadd_ps(
      _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                      _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
      u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, _mm256_set1_ps(1.0f)));
  // For |n| <= 192: n = h + (n - h) with h = floor(n / 2), both within [-96, 96]; j (about 0.7
  // to 1.5) times 2^h is a normal float, so exact, and the second product rounds once.
  const __m256i n_int = _mm256_cvtps_epi32(n);
  const __m256i h = _mm256_srai_epi32(n_int, 1);
  __m256 result = _mm256_mul_ps(_mm256_mul_ps(j, power_of_two(h)), power_of_two(_mm256_sub_epi32(n_int, h)));
  // |n| > 192: 0 below, infinity above; NaN inputs pass through.
  const __m256 abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), n);
  const __m256 out_of_range = _mm256_cmp_ps(abs_n, _mm256_set1_ps(192.0f), _CMP_GT_OQ);
  const __m256 low = _mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ);
  result = _mm256_blendv_ps(result, _mm256_setzero_ps(), _mm256_and_ps(out_of_range, low));
  result = _mm256_blendv_ps(result, _mm256_set1_ps(INFINITY), _mm256_andnot_ps(low, out_of_range));
  return _mm256_blendv_ps(result, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// The vector type of row_simd.h: 8 floats.
struct Vec8 {
  using Reg = __m256;
  static constexpr int kLanes = 8;
  static Reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm256_storeu_ps(p, v); }
  static Reg set1(float v) { return _mm256_set1_ps(v); }
  static Reg zero() { return _mm256_setzero_ps(); }
  static Reg add(Reg a, Reg b) { return _mm256_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm256_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm256_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm256_div_ps(a, b); }
  static Reg exp(Reg v) { return expf8(v); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm256_fmadd_ps(a, b, c); }
  static Reg fmsub(Reg a, Reg b, Reg c) { return _mm256_fmsub_ps(a, b, c); }
  static void deinterleave(Reg lo, Reg hi, Reg& even, Reg& odd) {
    // Within 128-bit lanes the shuffles give elements 0 2 8 10 | 4 6 12 14 (and 1 3 9 11 |
    // ...); swapping the middle 64-bit quarters puts them in order.
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))), 0xD8));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))), 0xD8));
  }
  static void interleave(Reg even, Reg odd, Reg& lo, Reg& hi) {
    const Reg a = _mm256_unpacklo_ps(even, odd), b = _mm256_unpackhi_ps(even, odd);  // pairs 0 1 4 5 | 2 3 6 7
    lo = _mm256_permute2f128_ps(a, b, 0x20);
    hi = _mm256_permute2f128_ps(a, b, 0x31);
  }
};

// All-ones in the lanes below count (0..8).
__m256i first_lanes(int count) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

}  // namespace

void softmax_row(const float* scores, int n, float scale, float* probs) {
  // As avx512::softmax_row: a row with NaN takes the scalar emulation (VMAXPS and std::fmax
  // treat NaN differently); otherwise the two maxima differ at most in the sign of a zero.
  const __m256 vscale = _mm256_set1_ps(scale);
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  __m256 nan = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) {
    const __m256i lanes = first_lanes(n - i < 8 ? n - i : 8);
    const __m256 x = _mm256_mul_ps(_mm256_maskload_ps(scores + i, lanes), vscale);
    _mm256_maskstore_ps(probs + i, lanes, x);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    vmax = _mm256_blendv_ps(vmax, _mm256_max_ps(vmax, x), _mm256_castsi256_ps(lanes));
  }
  if (_mm256_movemask_ps(nan) != 0) return softmax_row_reference(scores, n, scale, probs);
  __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(vmax, 1), _mm256_castps256_ps128(vmax));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  const __m256 max = _mm256_set1_ps(_mm_cvtss_f32(m4));
  double sum = 0.0;
  for (int g = 0; g < n; g += kGgmlVectorWidth) {
    __m256 halves[2];
    for (int k = 0; k < 2; ++k) {
      const int at = g + 8 * k, len = n - at < 0 ? 0 : (n - at < 8 ? n - at : 8);
      const __m256i lanes = first_lanes(len);
      const __m256 e = _mm256_and_ps(expf8(_mm256_sub_ps(_mm256_maskload_ps(probs + at, lanes), max)), _mm256_castsi256_ps(lanes));
      _mm256_maskstore_ps(probs + at, lanes, e);
      halves[k] = e;
    }
    sum += static_cast<double>(x86::reduce_16_halves(halves[0], halves[1]));
  }
  const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / sum));
  for (int i = 0; i < n; i += 8) {
    const __m256i lanes = first_lanes(n - i < 8 ? n - i : 8);
    _mm256_maskstore_ps(probs + i, lanes, _mm256_mul_ps(_mm256_maskload_ps(probs + i, lanes), inv));
  }
}

int swiglu_vector_part(const float* gate, const float* up, int n, float* out) {
  return simd::swiglu_vector_part<Vec8>(gate, up, n, out);
}

int rope_vector_part(float* x, const float* cache, const RopeParams& params) {
  return simd::rope_vector_part<Vec8>(x, cache, params);
}

}  // namespace alloy::cpu::avx2

#endif
