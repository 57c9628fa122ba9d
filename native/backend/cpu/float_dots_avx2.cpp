// AVX2 versions of the vector parts of float_dots.cpp: ggml's AVX-512 float dot products,
// whose 16-float accumulators are held here as two 8-float halves (lanes 0..7, 8..15).
// Lanes are independent, so every lane sees the same fused multiply-adds in the same order
// and the results are bit-identical to the scalar emulation (test_float_dots checks it).
#include "backend/cpu/float_dots.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>

#include "backend/cpu/x86_simd.h"

namespace alloy::cpu::avx2 {
namespace {

// 16 float lanes, the image of one __m512.
struct Lanes16 {
  __m256 lo = _mm256_setzero_ps();
  __m256 hi = _mm256_setzero_ps();
};

template <FloatFormat T>
__m256 load8(const uint8_t* p, int64_t i) {
  if constexpr (T == FloatFormat::f16) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 2 * i)));
  } else {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p + 4 * i));
  }
}

template <FloatFormat T>
void fma16(Lanes16& acc, const uint8_t* x, const uint8_t* y, int64_t i) {
  acc.lo = _mm256_fmadd_ps(load8<T>(x, i), load8<T>(y, i), acc.lo);
  acc.hi = _mm256_fmadd_ps(load8<T>(x, i + 8), load8<T>(y, i + 8), acc.hi);
}

Lanes16 add16(const Lanes16& a, const Lanes16& b) {
  return Lanes16{_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)};
}

float reduce16(const Lanes16& v) { return x86::reduce_16_halves(v.lo, v.hi); }

template <FloatFormat T>
float vec_dot_steps_of(const uint8_t* x, const uint8_t* y, int64_t full) {
  Lanes16 sum[4];
  for (int64_t i = 0; i < full; i += 64) {
    for (int j = 0; j < 4; ++j) fma16<T>(sum[j], x, y, i + 16 * j);
  }
  sum[0] = add16(sum[0], sum[2]);
  sum[1] = add16(sum[1], sum[3]);
  return reduce16(add16(sum[0], sum[1]));
}

template <FloatFormat T>
float gemm_dot_of(const uint8_t* x, const uint8_t* y, int64_t n) {
  Lanes16 acc;
  for (int64_t i = 0; i < n; i += 16) fma16<T>(acc, x, y, i);
  return reduce16(acc);
}

}  // namespace

float vec_dot_steps(FloatFormat format, const uint8_t* x, const uint8_t* y, int64_t full) {
  return format == FloatFormat::f16 ? vec_dot_steps_of<FloatFormat::f16>(x, y, full)
                                    : vec_dot_steps_of<FloatFormat::f32>(x, y, full);
}

void gemm_dot_rows(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* y, int64_t n,
                   float* out) {
  if (format == FloatFormat::f16) {
    for (int j = 0; j < count; ++j) out[j] = gemm_dot_of<FloatFormat::f16>(x + j * x_stride, y, n);
  } else {
    for (int j = 0; j < count; ++j) out[j] = gemm_dot_of<FloatFormat::f32>(x + j * x_stride, y, n);
  }
}

int64_t f32_to_f16_vector_part(const float* x, int64_t n, uint16_t* out) {
  const int64_t full = n - n % 8;
  for (int64_t i = 0; i < full; i += 8) {
    const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  return full;
}

float gemm_dot(FloatFormat format, const uint8_t* x, const uint8_t* y, int64_t n) {
  return format == FloatFormat::f16 ? gemm_dot_of<FloatFormat::f16>(x, y, n) : gemm_dot_of<FloatFormat::f32>(x, y, n);
}

}  // namespace alloy::cpu::avx2

#endif
