// AVX-512 VNNI kernels of packed_matmul.h. This file odr-uses no inline function of another
// header (the linker keeps one copy of such a function, which could be this file's AVX-512
// build called from code that runs without AVX-512).
#include "backend/cpu/packed_matmul.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && defined(__AVX512VNNI__)

#include <immintrin.h>

#include <cstring>

// GCC 12's AVX-512 headers start some conversions from an "undefined" register value, which
// -Wmaybe-uninitialized reports at every use (a known false positive of those headers).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace alloy::cpu::avx512 {
namespace {

constexpr size_t kScaleBytes = 32;  // 16 f16 scales ahead of the quant words
constexpr size_t kWordBytes = 64;
constexpr size_t kActBlockBytes = 34;  // BlockQ8_0: f16 d, 32 int8 quants
constexpr int kMaxTileTokens = 4;

inline uint32_t word_at(const uint8_t* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline float f16_at(const uint8_t* p) {
  uint16_t bits = 0;
  std::memcpy(&bits, p, sizeof bits);
  return _cvtsh_ss(bits);
}

// The integer dot products of one packed block (16 rows) with block b of T activation rows,
// in two accumulators per token (even and odd words) so the VPDPBUSD chains overlap.
template <bool kQ8, int T>
void block_dots(const uint8_t* quants, const uint8_t* const (&y)[T], __m512i (&dots)[T]) {
  __m512i odd[T];
  for (int t = 0; t < T; ++t) {
    dots[t] = _mm512_setzero_si512();
    odd[t] = _mm512_setzero_si512();
  }
  if constexpr (kQ8) {
    for (int j = 0; j < 8; j += 2) {
      const __m512i w0 = _mm512_loadu_si512(quants + j * kWordBytes);
      const __m512i w1 = _mm512_loadu_si512(quants + (j + 1) * kWordBytes);
      for (int t = 0; t < T; ++t) {
        dots[t] = _mm512_dpbusd_epi32(dots[t], w0, _mm512_set1_epi32(static_cast<int>(word_at(y[t] + 4 * j))));
        odd[t] = _mm512_dpbusd_epi32(odd[t], w1, _mm512_set1_epi32(static_cast<int>(word_at(y[t] + 4 * j + 4))));
      }
    }
  } else {
    const __m512i low4 = _mm512_set1_epi8(0xF);
    for (int j = 0; j < 4; ++j) {
      const __m512i packed = _mm512_loadu_si512(quants + j * kWordBytes);
      const __m512i low = _mm512_and_si512(packed, low4);
      const __m512i high = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low4);
      for (int t = 0; t < T; ++t) {
        dots[t] = _mm512_dpbusd_epi32(dots[t], low, _mm512_set1_epi32(static_cast<int>(word_at(y[t] + 4 * j))));
        odd[t] = _mm512_dpbusd_epi32(odd[t], high, _mm512_set1_epi32(static_cast<int>(word_at(y[t] + 16 + 4 * j))));
      }
    }
  }
  for (int t = 0; t < T; ++t) dots[t] = _mm512_add_epi32(dots[t], odd[t]);
}

// One group of 16 rows times T tokens (t0 .. t0 + T - 1).
template <bool kQ8, int T>
void group_tile(const PackedMatmulArgs& a, int64_t g, int t0) {
  const uint8_t* block = a.packed + static_cast<size_t>(g) * a.group_bytes;
  const uint8_t* act_rows[T];
  const int32_t* sums[T];
  for (int t = 0; t < T; ++t) {
    act_rows[t] = a.acts + static_cast<size_t>(t0 + t) * a.a_stride;
    sums[t] = a.block_sums + static_cast<size_t>(t0 + t) * static_cast<size_t>(a.n_blocks);
  }
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < a.n_blocks; ++b, block += a.block_bytes) {
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block)));
    const uint8_t* y[T];
    for (int t = 0; t < T; ++t) y[t] = act_rows[t] + static_cast<size_t>(b) * kActBlockBytes + 2;
    __m512i dots[T];
    block_dots<kQ8, T>(block + kScaleBytes, y, dots);
    for (int t = 0; t < T; ++t) {
      const __m512i exact = _mm512_sub_epi32(dots[t], _mm512_set1_epi32(sums[t][b]));
      const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(f16_at(y[t] - 2)));
      acc[t] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(exact), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    _mm512_storeu_ps(a.out + static_cast<size_t>(t0 + t) * a.out_stride + static_cast<size_t>(g) * 16, acc[t]);
  }
}

template <bool kQ8>
void run(const PackedMatmulArgs& a, int64_t g_begin, int64_t g_end, int n_tokens) {
  for (int64_t g = g_begin; g < g_end; ++g) {
    int t0 = 0;
    for (; t0 + kMaxTileTokens <= n_tokens; t0 += kMaxTileTokens) group_tile<kQ8, kMaxTileTokens>(a, g, t0);
    switch (n_tokens - t0) {
      case 3: group_tile<kQ8, 3>(a, g, t0); break;
      case 2: group_tile<kQ8, 2>(a, g, t0); break;
      case 1: group_tile<kQ8, 1>(a, g, t0); break;
      default: break;
    }
  }
}

}  // namespace

void packed_matmul(const PackedMatmulArgs& args, int64_t g_begin, int64_t g_end, int n_tokens) {
  if (args.type == GgmlType::Q8_0) {
    run<true>(args, g_begin, g_end, n_tokens);
  } else {
    run<false>(args, g_begin, g_end, n_tokens);
  }
}

}  // namespace alloy::cpu::avx512

#endif
