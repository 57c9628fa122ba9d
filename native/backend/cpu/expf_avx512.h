// ggml_vector_expf on 16 lanes for the files compiled with AVX-512 (ggml's AVX-512 build runs
// exactly these operations; its ggml_v_expf is this polynomial finished by VSCALEFPS). Internal
// linkage, one copy per including file, as x86_simd.h explains.
#pragma once

#if !defined(__AVX512F__)
#error "expf_avx512.h needs a file compiled with AVX-512"
#endif

#include <immintrin.h>

#include <cmath>

namespace alloy::cpu::x86 {
namespace {  // NOLINT(build/namespaces): one copy per instruction-set file, on purpose

// cpu_kernels.cpp has the scalar form (ggml_vector_expf) and its constants.
__m512 expf16(__m512 x) {
  const __m512 r = _mm512_set1_ps(0x1.8p23f);
  const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
  const __m512 n = _mm512_sub_ps(z, r);
  const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
  const __m512 u = _mm512_mul_ps(b, b);
  const __m512 j = _mm512_fmadd_ps(
      _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                      _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
      u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
  __m512 result = _mm512_scalef_ps(j, n);
  // |n| > 192: 0 below, infinity above; NaN inputs pass through.
  const __m512 abs_n = _mm512_abs_ps(n);
  const __mmask16 out_of_range = _mm512_cmp_ps_mask(abs_n, _mm512_set1_ps(192.0f), _CMP_GT_OQ);
  const __mmask16 low = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ);
  result = _mm512_mask_blend_ps(out_of_range & low, result, _mm512_setzero_ps());
  result = _mm512_mask_blend_ps(out_of_range & static_cast<__mmask16>(~low), result, _mm512_set1_ps(INFINITY));
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  return _mm512_mask_blend_ps(nan, result, x);
}

}  // namespace
}  // namespace alloy::cpu::x86
