// AVX-512 version of float_dot_rows with the GEMM kernel (float_dots.h): sixteen rows at a
// time, each with its own 16-float accumulator (tinyBLAS's summation: one fused multiply-add
// per 16 elements), and the sixteen reductions done together by pairwise shuffles that add
// exactly the pairs reduce_add_16 adds: v[i] + v[i + 8], then + 4, then (0 + 2) + (1 + 3). So
// every result is bit-identical to the scalar emulation (test_float_dots checks it). Also
// ggml_vec_dot's order for several rows at once (vec_dot_rows_multi), reduced the same way.
// This file odr-uses no inline function of another header (see x86_simd.h for why).
#include "backend/cpu/float_dots.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)

#include <immintrin.h>

#include <algorithm>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 AVX-512 header false positives
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace alloy::cpu::avx512 {
namespace {

constexpr int kRows = 16;

template <FloatFormat T>
__m512 load16(const uint8_t* p, int64_t i) {
  if constexpr (T == FloatFormat::f16) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2 * i)));
  } else {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(p + 4 * i));
  }
}

// out[j] = reduce_add_16(v[j]) for j < 16, in one vector.
__m512 reduce_16x16(const __m512 (&v)[kRows]) {
  __m512 u[8], w[4], s[2];
  for (int m = 0; m < 8; ++m) {  // per row: v[i] + v[i + 8]; rows 2m, 2m+1 in the two halves
    u[m] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], 0x44), _mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], 0xEE));
  }
  for (int k = 0; k < 4; ++k) {  // then + 4: rows 4k .. 4k+3 in the four 128-bit lanes
    w[k] = _mm512_add_ps(_mm512_shuffle_f32x4(u[2 * k], u[2 * k + 1], 0x88), _mm512_shuffle_f32x4(u[2 * k], u[2 * k + 1], 0xDD));
  }
  for (int h = 0; h < 2; ++h) {  // then (0 + 2) and (1 + 3)
    s[h] = _mm512_add_ps(_mm512_shuffle_ps(w[2 * h], w[2 * h + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(w[2 * h], w[2 * h + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // and their sum: lane 4L + i now holds row L + 4i.
  const __m512 r = _mm512_add_ps(_mm512_shuffle_ps(s[0], s[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_ps(s[0], s[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  return _mm512_permutexvar_ps(order, r);
}

// Values c0 .. c0 + len - 1 of the 16 rows from `rows` (x_stride bytes apart) as floats, row j
// at rows_f32 + j * kMultiChunk; rows from `valid` on are zeros.
template <FloatFormat T>
void convert_chunk(const uint8_t* rows, size_t x_stride, int valid, int64_t c0, int64_t len, float* rows_f32) {
  for (int j = 0; j < kRows; ++j) {
    float* out = rows_f32 + j * kMultiChunk;
    if (j >= valid) {
      for (int64_t i = 0; i < len; i += 16) _mm512_storeu_ps(out + i, _mm512_setzero_ps());
      continue;
    }
    const uint8_t* row = rows + static_cast<size_t>(j) * x_stride;
    for (int64_t i = 0; i < len; i += 16) _mm512_storeu_ps(out + i, load16<T>(row, c0 + i));
  }
}

template <FloatFormat T>
int gemm_rows(const uint8_t* x, size_t x_stride, int count, const uint8_t* y, int64_t n, float* out) {
  const int full = count / kRows * kRows;
  for (int j0 = 0; j0 < full; j0 += kRows) {
    __m512 acc[kRows];
    for (__m512& a : acc) a = _mm512_setzero_ps();
    const uint8_t* rows = x + static_cast<size_t>(j0) * x_stride;
    for (int64_t i = 0; i < n; i += 16) {
      const __m512 yv = load16<T>(y, i);
      for (int j = 0; j < kRows; ++j) acc[j] = _mm512_fmadd_ps(load16<T>(rows + static_cast<size_t>(j) * x_stride, i), yv, acc[j]);
    }
    _mm512_storeu_ps(out + j0, reduce_16x16(acc));
  }
  return full;
}

// gemm_rows for several vectors y at once: each 16-row tile is converted to float once, a
// chunk of kMultiChunk values at a time, and every y's 16 accumulators pass over it (kept in
// `accs` between chunks). The summation order per output is gemm_rows' exactly.
template <FloatFormat T>
int gemm_rows_multi(const uint8_t* x, size_t x_stride, int count, const uint8_t* const* ys, int n_ys, int64_t n,
                    float* const* outs, float* scratch) {
  const int full = count / kRows * kRows;
  float* rows_f32 = scratch;
  float* accs = scratch + kRows * kMultiChunk;
  for (int j0 = 0; j0 < full; j0 += kRows) {
    const uint8_t* rows = x + static_cast<size_t>(j0) * x_stride;
    for (int y0 = 0; y0 < n_ys; y0 += kMultiMaxVectors) {
      const int n_y = std::min(kMultiMaxVectors, n_ys - y0);
      for (int64_t c0 = 0; c0 < n; c0 += kMultiChunk) {
        const int64_t len = std::min<int64_t>(kMultiChunk, n - c0);
        convert_chunk<T>(rows, x_stride, kRows, c0, len, rows_f32);
        const bool last = c0 + len == n;
        for (int k = 0; k < n_y; ++k) {
          float* saved = accs + k * kRows * 16;
          __m512 acc[kRows];
          for (int j = 0; j < kRows; ++j) acc[j] = c0 == 0 ? _mm512_setzero_ps() : _mm512_loadu_ps(saved + 16 * j);
          const uint8_t* y = ys[y0 + k];
          for (int64_t i = 0; i < len; i += 16) {
            const __m512 yv = load16<T>(y, c0 + i);
            for (int j = 0; j < kRows; ++j) acc[j] = _mm512_fmadd_ps(_mm512_loadu_ps(rows_f32 + j * kMultiChunk + i), yv, acc[j]);
          }
          if (last) {
            _mm512_storeu_ps(outs[y0 + k] + j0, reduce_16x16(acc));
          } else {
            for (int j = 0; j < kRows; ++j) _mm512_storeu_ps(saved + 16 * j, acc[j]);
          }
        }
      }
    }
  }
  return full;
}

// ggml_vec_dot_f16 / _f32 (n a multiple of 64) of each of `count` rows with several vectors:
// each 16-row tile is converted to float once, a chunk of kMultiChunk values at a time, and
// every vector's chunk once; rows go four at a time (16 accumulators: four per row, as
// vec_dot keeps them), saved between chunks. Per output: acc[q] = fma(x, y, acc[q]) over the
// steps in order, then (acc0 + acc2) + (acc1 + acc3) and reduce_16x16 - vec_dot's order
// exactly. Rows past `count` in the last tile are zeros whose results are dropped.
template <FloatFormat T>
void vec_dot_rows_multi(const uint8_t* x, size_t x_stride, int count, const uint8_t* const* ys, int n_ys, int64_t n,
                        float* const* outs, float* scratch) {
  constexpr int kSteps = 4;  // accumulators per row
  constexpr int kRowsAtOnce = 4;
  float* rows_f32 = scratch;
  float* y_f32 = rows_f32 + kRows * kMultiChunk;
  float* saved = y_f32 + kMultiChunk;  // [vector][row][step][16]
  for (int j0 = 0; j0 < count; j0 += kRows) {
    const int rows = std::min(kRows, count - j0);
    for (int y0 = 0; y0 < n_ys; y0 += kMultiMaxVectors) {
      const int n_y = std::min(kMultiMaxVectors, n_ys - y0);
      for (int64_t c0 = 0; c0 < n; c0 += kMultiChunk) {
        const int64_t len = std::min<int64_t>(kMultiChunk, n - c0);
        convert_chunk<T>(x + static_cast<size_t>(j0) * x_stride, x_stride, rows, c0, len, rows_f32);
        const bool first = c0 == 0, last = c0 + len == n;
        for (int k = 0; k < n_y; ++k) {
          for (int64_t i = 0; i < len; i += 16) _mm512_storeu_ps(y_f32 + i, load16<T>(ys[y0 + k], c0 + i));
          float* kept = saved + static_cast<size_t>(k) * kRows * kSteps * 16;
          __m512 reduced[kRows];
          for (int r0 = 0; r0 < kRows; r0 += kRowsAtOnce) {
            __m512 acc[kRowsAtOnce][kSteps];
            for (int r = 0; r < kRowsAtOnce; ++r) {
              for (int q = 0; q < kSteps; ++q) {
                acc[r][q] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(kept + ((r0 + r) * kSteps + q) * 16);
              }
            }
            for (int64_t i = 0; i < len; i += kVecDotStep) {
              __m512 yv[kSteps];
              for (int q = 0; q < kSteps; ++q) yv[q] = _mm512_loadu_ps(y_f32 + i + 16 * q);
              for (int r = 0; r < kRowsAtOnce; ++r) {
                const float* xr = rows_f32 + (r0 + r) * kMultiChunk + i;
                for (int q = 0; q < kSteps; ++q) acc[r][q] = _mm512_fmadd_ps(_mm512_loadu_ps(xr + 16 * q), yv[q], acc[r][q]);
              }
            }
            for (int r = 0; r < kRowsAtOnce; ++r) {
              if (last) {
                reduced[r0 + r] = _mm512_add_ps(_mm512_add_ps(acc[r][0], acc[r][2]), _mm512_add_ps(acc[r][1], acc[r][3]));
              } else {
                for (int q = 0; q < kSteps; ++q) _mm512_storeu_ps(kept + ((r0 + r) * kSteps + q) * 16, acc[r][q]);
              }
            }
          }
          if (!last) continue;
          alignas(64) float results[kRows];
          _mm512_store_ps(results, reduce_16x16(reduced));
          std::copy(results, results + rows, outs[y0 + k] + j0);
        }
      }
    }
  }
}

}  // namespace

void vec_dot_rows_multi(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* const* ys,
                        int n_ys, int64_t n, float* const* outs, float* scratch) {
  if (format == FloatFormat::f16) {
    vec_dot_rows_multi<FloatFormat::f16>(x, x_stride, count, ys, n_ys, n, outs, scratch);
  } else {
    vec_dot_rows_multi<FloatFormat::f32>(x, x_stride, count, ys, n_ys, n, outs, scratch);
  }
}

int gemm_dot_rows_multi(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* const* ys,
                        int n_ys, int64_t n, float* const* outs, float* scratch) {
  return format == FloatFormat::f16 ? gemm_rows_multi<FloatFormat::f16>(x, x_stride, count, ys, n_ys, n, outs, scratch)
                                    : gemm_rows_multi<FloatFormat::f32>(x, x_stride, count, ys, n_ys, n, outs, scratch);
}

int gemm_dot_rows(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* y, int64_t n, float* out) {
  return format == FloatFormat::f16 ? gemm_rows<FloatFormat::f16>(x, x_stride, count, y, n, out)
                                    : gemm_rows<FloatFormat::f32>(x, x_stride, count, y, n, out);
}

}  // namespace alloy::cpu::avx512

#endif
