// The float accumulation order of ggml's x86 AVX2 dot products, written as portable scalar
// code so our results are bit-identical to llama.cpp's on every platform: a __m256
// accumulator is 8 independent float lanes updated with fused multiply-adds (std::fma is
// correctly rounded, exactly like VFMADD), reduced at the end in a fixed order.
#pragma once

#include <cmath>
#include <cstdint>

namespace alloy::cpu {

// `v` rounded to float where the compiler cannot fuse it into a following add: GCC and
// Clang contract `a * b + c` into an FMA (GCC even across statements and inline calls),
// which skips a rounding that llama.cpp's code performs. Wrap a product in it wherever the
// reference rounds the product before adding.
inline float unfused(float v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  __asm__("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  __asm__("" : "+w"(v));
#else
  volatile float barrier = v;
  v = barrier;
#endif
  return v;
}

// Eight float lanes, the scalar image of one __m256 accumulator.
struct FloatLanes8 {
  float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};

  // acc = fma(scale, float(ints), acc) lane by lane (_mm256_fmadd_ps of a broadcast scale
  // and _mm256_cvtepi32_ps of integer lanes; int -> float rounds to nearest even).
  void fma_scaled(float scale, const int32_t (&ints)[8]) {
    for (int l = 0; l < 8; ++l) v[l] = std::fma(scale, static_cast<float>(ints[l]), v[l]);
  }

  // ggml's hsum_float_8: (v0+v4 + v2+v6) + (v1+v5 + v3+v7), pairwise in that order.
  float hsum() const {
    float r[4];
    for (int l = 0; l < 4; ++l) r[l] = v[4 + l] + v[l];
    const float even = r[0] + r[2];
    const float odd = r[1] + r[3];
    return even + odd;
  }
};

// The reduction of a __m128 accumulator by movehl + add, then movehdup + add_ss:
// (v0 + v2) + (v1 + v3).
inline float hsum_float_4(const float (&v)[4]) {
  const float even = v[0] + v[2];
  const float odd = v[1] + v[3];
  return even + odd;
}

// Integer lane of element `pos` (0..31) within a 32-byte vector, as VPMADDUBSW + VPMADDWD
// (or VPDPBUSD) group it: bytes 4l..4l+3 sum into 32-bit lane l.
constexpr int int32_lane_of_byte(int pos) { return pos / 4; }

}  // namespace alloy::cpu
