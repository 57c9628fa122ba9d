// Small x86 SIMD helpers shared by the kernel files compiled for AVX2 or AVX-512. Include
// only from such files: everything here has internal linkage (static, or templates in an
// unnamed namespace) so each file keeps its own copy, built for its own instruction set.
// Invariant of those files: they odr-use no non-inline function of another header,
// since the linker keeps one copy of such a function and it could be the AVX-512 build.
#pragma once

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "x86_simd.h needs a file compiled with AVX2, FMA and F16C"
#endif

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/tile_kernels.h"

namespace alloy::cpu::x86 {
namespace {  // NOLINT(build/namespaces): one copy per instruction-set file, on purpose

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The F16C conversion (bit-identical to half.h's software one; test_half checks every value).
inline float load_f16_hw(const F16Field& field) {
  uint16_t bits = 0;
  std::memcpy(&bits, field, sizeof bits);
  return _cvtsh_ss(bits);
}

// ggml's hsum_float_8: (v0+v4 + v2+v6) + (v1+v5 + v3+v7).
inline float hsum_float_8(__m256 x) {
  __m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
  r = _mm_add_ps(r, _mm_movehl_ps(r, r));
  r = _mm_add_ss(r, _mm_movehdup_ps(r));
  return _mm_cvtss_f32(r);
}

// reduce_add_16 (cpu_kernels.h) of 16 floats held as lo (0..7) and hi (8..15): v[i] + v[i + 8],
// then hsum_float_8's order, which is reduce_add_16's: + 4, then (0 + 2) + (1 + 3).
inline float reduce_16_halves(__m256 lo, __m256 hi) { return hsum_float_8(_mm256_add_ps(hi, lo)); }

// Bytes 0..15: the low nibbles of the 16 packed bytes, bytes 16..31: their high nibbles
// (the element order of Q4_0 / Q4_1 blocks), each 0..15.
inline __m256i unpack_nibbles_32(const uint8_t* packed16) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed16));
  return _mm256_and_si256(_mm256_insertf128_si256(_mm256_castsi128_si256(packed), _mm_srli_epi16(packed, 4), 1),
                          _mm256_set1_epi8(0xF));
}

// Per-tile helpers of the tile kernel files: an R x T array of 8-lane float accumulators.
template <int R, int T>
void zero_tile(__m256 (&acc)[R][T]) {
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  }
}

// Reduces each accumulator as the reference does (hsum_float_8) into its output.
template <int R, int T>
void store_tile(const TileArgs& g, __m256 (&acc)[R][T]) {
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) g.out[static_cast<size_t>(t) * g.out_stride + r] = hsum_float_8(acc[r][t]);
  }
}

// Decode reads each weight byte once, from memory: the hardware prefetchers do not run far
// enough ahead across the short rows of a tile, so the kernel asks for the same position of
// the next tile's rows (the rows after this tile are the next work of this thread).
// Prefetching past the end of the tensor is harmless (prefetches never fault).
inline void prefetch_next_tile(const TileArgs& g, int n_rows, const void* block) {
  _mm_prefetch(static_cast<const char*>(block) + static_cast<size_t>(2 * n_rows) * g.w_stride, _MM_HINT_T0);
}

// Block i of a row of blocks (byte-only structs: any address is aligned).
template <typename Block>
const Block& block_at(const uint8_t* row, int64_t i) {
  return reinterpret_cast<const Block*>(row)[i];
}

}  // namespace
}  // namespace alloy::cpu::x86
