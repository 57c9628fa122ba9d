// AVX-512 VNNI kernels of packed_matmul.h, one "format" per packed weight type (repack.h has
// the layouts). Each format adds one packed block of 16 rows times T activation blocks to T
// accumulators of 16 rows. This file odr-uses no inline function of another header (the
// linker keeps one copy of such a function, which could be this file's AVX-512 build called
// from code that runs without AVX-512).
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

constexpr size_t kRows = 16;
constexpr size_t kScaleBytes = 32;  // 16 f16 values
constexpr size_t kWordBytes = 64;
// How far ahead of the block being read each decode stream prefetches, and into which cache;
// prefetches never fault, so past the end of the matrix is harmless. With one stream
// (alternating builds, 0.5B-shape Q8_0): 37.8 t/s with 4 KiB into L1, 40.3 with 16 KiB into
// L2 (32 KiB into L2: 39.7, 16 KiB into L3: 39.4). With 8 streams (variants alternating in one
// process, ratio to 16 KiB into L2): 16 KiB into L1 1.04 (0.5B Q8_0, 8 and 10 of 12 rounds
// faster), 1.05 (0.5B Q4_0), 1.01 (1.5B Q8_0); into L1 at 8 KiB 0.98, 24 KiB 0.95; into L2 at
// 8 KiB 0.94, 32 KiB 0.98; into L3 1.01.
constexpr size_t kDecodePrefetchBytes = 16384;
constexpr _mm_hint kDecodePrefetchHint = _MM_HINT_T0;

inline int32_t i32_at(const uint8_t* p) {
  int32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline float f32_at(const uint8_t* p) {
  float v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline float f16_at(const uint8_t* p) {
  uint16_t bits = 0;
  std::memcpy(&bits, p, sizeof bits);
  return _cvtsh_ss(bits);
}
inline int16_t i16_at(const uint8_t* p) {
  int16_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline __m512i word(const uint8_t* words, int index) { return _mm512_loadu_si512(words + static_cast<size_t>(index) * kWordBytes); }
inline __m512i bcast(const uint8_t* p) { return _mm512_set1_epi32(i32_at(p)); }
inline __m512 f16x16(const uint8_t* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
inline __m512i u8x16(const uint8_t* p) { return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline __m512i i8x16(const uint8_t* p) { return _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
inline __m512i low_nibbles(__m512i v) { return _mm512_and_si512(v, _mm512_set1_epi8(0xF)); }
inline __m512i high_nibbles(__m512i v) { return _mm512_and_si512(_mm512_srli_epi16(v, 4), _mm512_set1_epi8(0xF)); }

// One output accumulator per (16 rows, token): the float sum of the scaled block dots.
struct SumAcc {
  __m512 v = _mm512_setzero_ps();
  __m512 finish() const { return v; }
};

// The eight float lanes of ggml's AVX2 accumulator for 16 rows, lane l summing elements
// 4l..4l+3 of every block, reduced at the end as hsum_float_8 does: bit-identical to vec_dot.
struct LaneAcc {
  __m512 lane[8] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                    _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  __m512 finish() const {
    const __m512 even = _mm512_add_ps(_mm512_add_ps(lane[4], lane[0]), _mm512_add_ps(lane[6], lane[2]));
    const __m512 odd = _mm512_add_ps(_mm512_add_ps(lane[5], lane[1]), _mm512_add_ps(lane[7], lane[3]));
    return _mm512_add_ps(even, odd);
  }
};

// Q8_0 / Q4_0 weights with Q8_0 activations (34-byte blocks: f16 d, 32 quants):
// acc += (d_w * d_a) * float(block dot), block dot = lane - offset * sum(a).
template <bool kQ8>
struct LegacyFormat {
  static constexpr size_t kActBlockBytes = 34;
  static constexpr int kMaxTokens = 8;  // pp512 (0.5B Q8_0): ~355 t/s at 8, ~320 at 4
  // Decode, 2 threads, runs alternating in one process (medians of the ratios to 1 stream):
  // 0.5B Q8_0 4 streams 1.16, 8 streams 1.13–1.16; 1.5B Q8_0 8 streams 1.13; 0.5B Q4_0 1.07.
  static constexpr int kDecodeStreams = 8;
  using Acc = SumAcc;

  template <int T>
  static void add_block(const uint8_t* block, const uint8_t* const (&y)[T], const int32_t* const (&sums)[T], int64_t b,
                        Acc (&acc)[T]) {
    const uint8_t* words = block + kScaleBytes;
    __m512i even[T], odd[T];  // two chains per token so the VPDPBUSD latencies overlap
    for (int t = 0; t < T; ++t) even[t] = odd[t] = _mm512_setzero_si512();
    if constexpr (kQ8) {
      for (int j = 0; j < 8; j += 2) {
        const __m512i w0 = word(words, j), w1 = word(words, j + 1);
        for (int t = 0; t < T; ++t) {
          even[t] = _mm512_dpbusd_epi32(even[t], w0, bcast(y[t] + 2 + 4 * j));
          odd[t] = _mm512_dpbusd_epi32(odd[t], w1, bcast(y[t] + 2 + 4 * j + 4));
        }
      }
    } else {
      for (int j = 0; j < 4; ++j) {
        const __m512i packed = word(words, j);
        const __m512i low = low_nibbles(packed), high = high_nibbles(packed);
        for (int t = 0; t < T; ++t) {
          even[t] = _mm512_dpbusd_epi32(even[t], low, bcast(y[t] + 2 + 4 * j));
          odd[t] = _mm512_dpbusd_epi32(odd[t], high, bcast(y[t] + 2 + 16 + 4 * j));
        }
      }
    }
    const __m512 dw = f16x16(block);
    for (int t = 0; t < T; ++t) {
      const __m512i dot = _mm512_sub_epi32(_mm512_add_epi32(even[t], odd[t]), _mm512_set1_epi32(sums[t][b]));
      acc[t].v = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(f16_at(y[t]))), _mm512_cvtepi32_ps(dot), acc[t].v);
    }
  }
};

// Q5_0 with Q8_0 activations in vec_dot's own lanes (llama.cpp computes Q5_0 with its AVX2
// vec_dot on every x86 CPU, so this keeps the engine bit-identical to it): lane l of a block
// = sum over elements 4l..4l+3 of (q - 16) * a, the caller's sums being 16 * that group's
// sum of a; acc lane l += (d_w * d_a) * float(lane l).
struct Q5_0Format {
  static constexpr size_t kActBlockBytes = 34;
  static constexpr int kMaxTokens = 2;  // 8 accumulators per token
  static constexpr int kDecodeStreams = 1;
  using Acc = LaneAcc;

  template <int T>
  static void add_block(const uint8_t* block, const uint8_t* const (&y)[T], const int32_t* const (&sums)[T], int64_t b,
                        Acc (&acc)[T]) {
    const uint8_t* words = block + kScaleBytes;  // word 0: fifth bits, words 1..4: nibbles
    const __m512i one = _mm512_set1_epi8(1);
    const __m512i bits = word(words, 0);
    const __m512 dw = f16x16(block);
    __m512 d[T];
    for (int t = 0; t < T; ++t) d[t] = _mm512_mul_ps(dw, _mm512_set1_ps(f16_at(y[t])));
    for (int j = 0; j < 4; ++j) {
      const __m512i packed = word(words, 1 + j);
      const __m512i low = _mm512_or_si512(low_nibbles(packed), _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(bits, j), one), 4));
      const __m512i high =
          _mm512_or_si512(high_nibbles(packed), _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(bits, 4 + j), one), 4));
      for (int t = 0; t < T; ++t) {
        const int32_t* group_sums = sums[t] + b * kQ5_0SumGroups;
        const __m512i lane_low = _mm512_dpbusd_epi32(_mm512_set1_epi32(-group_sums[j]), low, bcast(y[t] + 2 + 4 * j));
        const __m512i lane_high = _mm512_dpbusd_epi32(_mm512_set1_epi32(-group_sums[4 + j]), high, bcast(y[t] + 2 + 16 + 4 * j));
        acc[t].lane[j] = _mm512_fmadd_ps(d[t], _mm512_cvtepi32_ps(lane_low), acc[t].lane[j]);
        acc[t].lane[4 + j] = _mm512_fmadd_ps(d[t], _mm512_cvtepi32_ps(lane_high), acc[t].lane[4 + j]);
      }
    }
  }
};

// Q8_K activation blocks: f32 d, 256 quants, 16 int16 sums of 16 quants.
constexpr size_t kQ8KBlockBytes = 4 + 256 + 32;
inline const uint8_t* q8k_quants(const uint8_t* y) { return y + 4; }
inline int q8k_bsum(const uint8_t* y, int i) { return i16_at(y + 4 + 256 + 2 * i); }

// Q4_K: acc += (d * d_a) * float(sum_s scale_s * dot_s) - (dmin * d_a) * float(sum_s min_s * sum_s(a)).
struct Q4KFormat {
  static constexpr size_t kActBlockBytes = kQ8KBlockBytes;
  static constexpr int kMaxTokens = 4;
  // 1.5B Q4_K_M decode (runs alternating in one process): 2 streams 0.95, 4 streams 0.90 of 1.
  static constexpr int kDecodeStreams = 1;
  using Acc = SumAcc;

  template <int T>
  static void add_block(const uint8_t* block, const uint8_t* const (&y)[T], const int32_t* const (&)[T], int64_t,
                        SumAcc (&acc)[T]) {
    const uint8_t* scales = block + 2 * kScaleBytes;
    const uint8_t* mins = scales + 8 * kRows;
    const uint8_t* words = mins + 8 * kRows;
    __m512i sum[T], min_sum[T];
    for (int t = 0; t < T; ++t) sum[t] = min_sum[t] = _mm512_setzero_si512();
    for (int p = 0; p < 4; ++p) {  // sub-blocks 2p (low nibbles) and 2p + 1 (high nibbles)
      __m512i low_dot[T], high_dot[T];
      for (int t = 0; t < T; ++t) low_dot[t] = high_dot[t] = _mm512_setzero_si512();
      for (int g = 0; g < 8; ++g) {
        const __m512i packed = word(words, 8 * p + g);
        const __m512i low = low_nibbles(packed), high = high_nibbles(packed);
        for (int t = 0; t < T; ++t) {
          low_dot[t] = _mm512_dpbusd_epi32(low_dot[t], low, bcast(q8k_quants(y[t]) + 64 * p + 4 * g));
          high_dot[t] = _mm512_dpbusd_epi32(high_dot[t], high, bcast(q8k_quants(y[t]) + 64 * p + 32 + 4 * g));
        }
      }
      const __m512i scale_low = u8x16(scales + (2 * p) * kRows), scale_high = u8x16(scales + (2 * p + 1) * kRows);
      const __m512i min_low = u8x16(mins + (2 * p) * kRows), min_high = u8x16(mins + (2 * p + 1) * kRows);
      for (int t = 0; t < T; ++t) {
        sum[t] = _mm512_add_epi32(sum[t], _mm512_add_epi32(_mm512_mullo_epi32(low_dot[t], scale_low),
                                                          _mm512_mullo_epi32(high_dot[t], scale_high)));
        const int a_low = q8k_bsum(y[t], 4 * p) + q8k_bsum(y[t], 4 * p + 1);
        const int a_high = q8k_bsum(y[t], 4 * p + 2) + q8k_bsum(y[t], 4 * p + 3);
        min_sum[t] = _mm512_add_epi32(min_sum[t], _mm512_add_epi32(_mm512_mullo_epi32(min_low, _mm512_set1_epi32(a_low)),
                                                                  _mm512_mullo_epi32(min_high, _mm512_set1_epi32(a_high))));
      }
    }
    const __m512 d = f16x16(block), dmin = f16x16(block + kScaleBytes);
    for (int t = 0; t < T; ++t) {
      const __m512 da = _mm512_set1_ps(f32_at(y[t]));
      acc[t].v = _mm512_fmadd_ps(_mm512_mul_ps(d, da), _mm512_cvtepi32_ps(sum[t]), acc[t].v);
      acc[t].v = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, da), _mm512_cvtepi32_ps(min_sum[t]), acc[t].v);
    }
  }
};

// Q6_K: acc += (d * d_a) * float(sum_i scale_i * (dot_i - 32 * sum_i(a))) over its 16
// sub-blocks of 16; quants q = low 4 bits (ql) | high 2 bits (qh) << 4.
struct Q6KFormat {
  static constexpr size_t kActBlockBytes = kQ8KBlockBytes;
  static constexpr int kMaxTokens = 4;
  static constexpr int kDecodeStreams = 1;  // as Q4_K
  using Acc = SumAcc;

  template <int T>
  static void add_block(const uint8_t* block, const uint8_t* const (&y)[T], const int32_t* const (&)[T], int64_t,
                        SumAcc (&acc)[T]) {
    const uint8_t* scales = block + kScaleBytes;
    const uint8_t* ql_words = scales + 16 * kRows;
    const uint8_t* qh_words = ql_words + 32 * kWordBytes;
    const __m512i low2 = _mm512_set1_epi8(3);
    __m512i sum[T];
    for (int t = 0; t < T; ++t) sum[t] = _mm512_setzero_si512();
    for (int h = 0; h < 2; ++h) {
      for (int k = 0; k < 4; ++k) {
        for (int half = 0; half < 2; ++half) {  // sub-block 8h + 2k + half: words lw = 4 half .. 4 half + 3
          __m512i dot[T];
          for (int t = 0; t < T; ++t) dot[t] = _mm512_setzero_si512();
          for (int lw = 4 * half; lw < 4 * half + 4; ++lw) {
            const __m512i ql = word(ql_words, 16 * h + 8 * (k & 1) + lw);
            const __m512i qh = word(qh_words, 8 * h + lw);
            const __m512i low = k < 2 ? low_nibbles(ql) : high_nibbles(ql);
            const __m512i high = _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 2 * k), low2), 4);
            const __m512i q = _mm512_or_si512(low, high);
            for (int t = 0; t < T; ++t) {
              dot[t] = _mm512_dpbusd_epi32(dot[t], q, bcast(q8k_quants(y[t]) + 128 * h + 32 * k + 4 * lw));
            }
          }
          const int sub = 8 * h + 2 * k + half;
          const __m512i scale = i8x16(scales + static_cast<size_t>(sub) * kRows);
          for (int t = 0; t < T; ++t) {
            const __m512i centred = _mm512_sub_epi32(dot[t], _mm512_set1_epi32(32 * q8k_bsum(y[t], sub)));
            sum[t] = _mm512_add_epi32(sum[t], _mm512_mullo_epi32(centred, scale));
          }
        }
      }
    }
    const __m512 d = f16x16(block);
    for (int t = 0; t < T; ++t) {
      acc[t].v = _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(f32_at(y[t]))), _mm512_cvtepi32_ps(sum[t]), acc[t].v);
    }
  }
};

// One group of 16 rows times T tokens (t0 .. t0 + T - 1).
template <typename Format, int T>
void group_tile(const PackedMatmulArgs& a, int64_t g, int t0) {
  const uint8_t* block = a.packed + static_cast<size_t>(g) * a.group_bytes;
  const uint8_t* act_rows[T];
  const int32_t* sums[T];
  for (int t = 0; t < T; ++t) {
    act_rows[t] = a.acts + static_cast<size_t>(t0 + t) * a.a_stride;
    sums[t] = a.block_sums == nullptr ? nullptr : a.block_sums + static_cast<size_t>(t0 + t) * a.sums_stride;
  }
  typename Format::Acc acc[T];
  for (int64_t b = 0; b < a.n_blocks; ++b, block += a.block_bytes) {
    const uint8_t* y[T];
    for (int t = 0; t < T; ++t) y[t] = act_rows[t] + static_cast<size_t>(b) * Format::kActBlockBytes;
    Format::template add_block<T>(block, y, sums, b, acc);
  }
  for (int t = 0; t < T; ++t) {
    _mm512_storeu_ps(a.out + static_cast<size_t>(t0 + t) * a.out_stride + static_cast<size_t>(g) * kRows, acc[t].finish());
  }
}

// Groups g .. g + S - 1 for token t, their blocks read side by side.
template <typename Format, int S>
void decode_side_by_side(const PackedMatmulArgs& a, int64_t g, int t) {
  const uint8_t* block[S];
  for (int s = 0; s < S; ++s) block[s] = a.packed + static_cast<size_t>(g + s) * a.group_bytes;
  const uint8_t* act = a.acts + static_cast<size_t>(t) * a.a_stride;
  const int32_t* sums[1] = {a.block_sums == nullptr ? nullptr : a.block_sums + static_cast<size_t>(t) * a.sums_stride};
  typename Format::Acc acc[S][1];
  for (int64_t b = 0; b < a.n_blocks; ++b) {
    const uint8_t* y[1] = {act + static_cast<size_t>(b) * Format::kActBlockBytes};
    for (int s = 0; s < S; ++s) {
      for (size_t line = 0; line < a.block_bytes; line += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(block[s] + kDecodePrefetchBytes + line), kDecodePrefetchHint);
      }
      Format::template add_block<1>(block[s], y, sums, b, acc[s]);
      block[s] += a.block_bytes;
    }
  }
  float* out = a.out + static_cast<size_t>(t) * a.out_stride;
  for (int s = 0; s < S; ++s) _mm512_storeu_ps(out + static_cast<size_t>(g + s) * kRows, acc[s][0].finish());
}

// One token over groups [g_begin, g_end): S groups at a time, block by block side by side, so
// each thread keeps S streams of weights in flight (decode reads every weight byte once, from
// memory, and one stream per thread leaves the memory system idle part of the time), each
// stream also prefetched kDecodePrefetchBytes ahead into L1. The rest takes S / 2, ... 1.
template <typename Format, int S>
void decode_groups(const PackedMatmulArgs& a, int64_t g_begin, int64_t g_end, int t) {
  int64_t g = g_begin;
  if constexpr (S > 1) {
    for (; g + S <= g_end; g += S) decode_side_by_side<Format, S>(a, g, t);
    decode_groups<Format, S / 2>(a, g, g_end, t);
  } else {
    for (; g < g_end; ++g) decode_side_by_side<Format, 1>(a, g, t);
  }
}

// The last tile of a group, of `rest` < Format::kMaxTokens tokens.
template <typename Format, int T>
void last_tile(const PackedMatmulArgs& a, int64_t g, int t0, int rest) {
  if constexpr (T >= 1) {
    if (rest == T) return group_tile<Format, T>(a, g, t0);
    last_tile<Format, T - 1>(a, g, t0, rest);
  }
}

template <typename Format>
void run(const PackedMatmulArgs& a, int64_t g_begin, int64_t g_end, int t_begin, int t_end) {
  constexpr int kFull = Format::kMaxTokens;
  if (t_end - t_begin == 1) return decode_groups<Format, Format::kDecodeStreams>(a, g_begin, g_end, t_begin);
  for (int64_t g = g_begin; g < g_end; ++g) {
    int t0 = t_begin;
    for (; t0 + kFull <= t_end; t0 += kFull) group_tile<Format, kFull>(a, g, t0);
    last_tile<Format, kFull - 1>(a, g, t0, t_end - t0);
  }
}

}  // namespace

void packed_matmul_tokens(const PackedMatmulArgs& args, int64_t g_begin, int64_t g_end, int t_begin, int t_end) {
  if (args.type == GgmlType::Q8_0) return run<LegacyFormat<true>>(args, g_begin, g_end, t_begin, t_end);
  if (args.type == GgmlType::Q4_0) return run<LegacyFormat<false>>(args, g_begin, g_end, t_begin, t_end);
  if (args.type == GgmlType::Q5_0) return run<Q5_0Format>(args, g_begin, g_end, t_begin, t_end);
  if (args.type == GgmlType::Q4_K) return run<Q4KFormat>(args, g_begin, g_end, t_begin, t_end);
  run<Q6KFormat>(args, g_begin, g_end, t_begin, t_end);
}

int decode_streams(GgmlType type) {  // the types packed_matmul_tokens dispatches on, in its order
  if (type == GgmlType::Q8_0) return LegacyFormat<true>::kDecodeStreams;
  if (type == GgmlType::Q4_0) return LegacyFormat<false>::kDecodeStreams;
  if (type == GgmlType::Q5_0) return Q5_0Format::kDecodeStreams;
  if (type == GgmlType::Q4_K) return Q4KFormat::kDecodeStreams;
  return Q6KFormat::kDecodeStreams;
}

void packed_matmul(const PackedMatmulArgs& args, int64_t g_begin, int64_t g_end, int n_tokens) {
  packed_matmul_tokens(args, g_begin, g_end, 0, n_tokens);
}

}  // namespace alloy::cpu::avx512

#endif
