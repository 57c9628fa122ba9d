// AVX-512 versions of row kernels of cpu_kernels.h (softmax, SwiGLU, RoPE).
// ggml's AVX-512 build runs exactly these vector operations - its ggml_v_expf is the
// polynomial of expf_avx512.h finished by VSCALEFPS - so lane for lane they are the scalar emulation's
// operations, and the results are bit-identical to it (test_row_kernels checks that).
// This file odr-uses no inline function of another header (see x86_simd.h for why).
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/row_simd.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)

#include <immintrin.h>

#include <cmath>

#include "backend/cpu/expf_avx512.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 AVX-512 header false positive
#endif

namespace alloy::cpu::avx512 {
namespace {

// reduce_add_16's order: v[i] + v[i + 8], then + 4, then (0 + 2) + (1 + 3).
float reduce16(__m512 v) {
  const __m256 t8 = _mm256_add_ps(_mm256_castsi256_ps(_mm512_extracti64x4_epi64(_mm512_castps_si512(v), 1)), _mm512_castps512_ps256(v));
  const __m128 t4 = _mm_add_ps(_mm256_extractf128_ps(t8, 1), _mm256_castps256_ps128(t8));
  const __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
  return _mm_cvtss_f32(_mm_add_ss(t2, _mm_movehdup_ps(t2)));
}

__mmask16 first_lanes(int count) { return static_cast<__mmask16>((1u << count) - 1u); }

// The vector type of row_simd.h: 16 floats.
struct Vec16 {
  using Reg = __m512;
  static constexpr int kLanes = 16;
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, Reg v) { _mm512_storeu_ps(p, v); }
  static Reg set1(float v) { return _mm512_set1_ps(v); }
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static Reg sub(Reg a, Reg b) { return _mm512_sub_ps(a, b); }
  static Reg mul(Reg a, Reg b) { return _mm512_mul_ps(a, b); }
  static Reg div(Reg a, Reg b) { return _mm512_div_ps(a, b); }
  static Reg exp(Reg v) { return x86::expf16(v); }
  static Reg fmadd(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg fmsub(Reg a, Reg b, Reg c) { return _mm512_fmsub_ps(a, b, c); }
  static void deinterleave(Reg lo, Reg hi, Reg& even, Reg& odd) {
    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    even = _mm512_permutex2var_ps(lo, evens, hi);
    odd = _mm512_permutex2var_ps(lo, _mm512_add_epi32(evens, _mm512_set1_epi32(1)), hi);
  }
  static void interleave(Reg even, Reg odd, Reg& lo, Reg& hi) {
    const __m512i first = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    lo = _mm512_permutex2var_ps(even, first, odd);
    hi = _mm512_permutex2var_ps(even, _mm512_add_epi32(first, _mm512_set1_epi32(8)), odd);
  }
};

}  // namespace

void softmax_row(const float* scores, int n, float scale, float* probs) {
  // probs = scores * scale and their maximum. VMAXPS takes the second operand when either is
  // NaN where std::fmax ignores NaN; a row with NaN takes the scalar emulation instead. (For
  // other values the two maxima are equal, up to the sign of a zero, which the subtraction
  // below cannot tell apart.)
  const __m512 vscale = _mm512_set1_ps(scale);
  __m512 vmax_lanes = _mm512_set1_ps(-INFINITY);
  __mmask16 nan = 0;
  for (int g = 0; g < n; g += 16) {
    const __mmask16 lanes = first_lanes(n - g < 16 ? n - g : 16);
    const __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, scores + g), vscale);
    _mm512_mask_storeu_ps(probs + g, lanes, x);
    nan |= _mm512_mask_cmp_ps_mask(lanes, x, x, _CMP_UNORD_Q);
    vmax_lanes = _mm512_mask_max_ps(vmax_lanes, lanes, vmax_lanes, x);
  }
  if (nan != 0) return softmax_row_reference(scores, n, scale, probs);
  const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(vmax_lanes));
  double sum = 0.0;
  for (int g = 0; g < n; g += 16) {
    const int len = n - g < 16 ? n - g : 16;
    const __mmask16 lanes = first_lanes(len);
    const __m512 x = _mm512_maskz_loadu_ps(lanes, probs + g);
    const __m512 e = _mm512_maskz_mov_ps(lanes, x86::expf16(_mm512_sub_ps(x, vmax)));
    _mm512_mask_storeu_ps(probs + g, lanes, e);
    sum += static_cast<double>(reduce16(e));
  }
  const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / sum));
  for (int g = 0; g < n; g += 16) {
    const __mmask16 lanes = first_lanes(n - g < 16 ? n - g : 16);
    _mm512_mask_storeu_ps(probs + g, lanes, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, probs + g), inv));
  }
}

int swiglu_vector_part(const float* gate, const float* up, int n, float* out) {
  return simd::swiglu_vector_part<Vec16>(gate, up, n, out);
}

int rope_vector_part(float* x, const float* cache, const RopeParams& params) {
  return simd::rope_vector_part<Vec16>(x, cache, params);
}

}  // namespace alloy::cpu::avx512

#endif
