// F32 / F16 / BF16 dot products in the order of ggml's AVX2 build (ggml-cpu/vec.cpp with the
// AVX GGML_SIMD mappings of simd-mappings.h): full steps of 32 elements go through four
// 8-lane accumulators, the rest is added one by one after the reduction.
// DEBT: llama.cpp's AVX-512 builds (e.g. the sapphirerapids variant node-llama-cpp loads on
// AVX-512 machines) accumulate F32 / F16 in 16 lanes and BF16 with VDPBF16PS, so there our
// float dots differ from theirs in the last bits; only the AVX2 order is reproduced.
#include <cmath>
#include <cstring>

#include "backend/cpu/vec_dot.h"
#include "backend/cpu/x86_float_order.h"
#include "core/half.h"

namespace alloy::cpu::scalar {
namespace {

constexpr int kStep = 32;  // GGML_F32_STEP / GGML_F16_STEP: 4 vectors of 8 lanes

float load_f32(const uint8_t* p, int64_t i) {
  float v = 0;
  std::memcpy(&v, p + 4 * i, sizeof v);
  return v;
}
uint16_t load_u16(const uint8_t* p, int64_t i) {
  uint16_t v = 0;
  std::memcpy(&v, p + 2 * i, sizeof v);
  return v;
}
float load_f16_at(const uint8_t* p, int64_t i) { return f16_bits_to_float(load_u16(p, i)); }
float load_bf16_at(const uint8_t* p, int64_t i) { return bf16_bits_to_float(load_u16(p, i)); }

// Four 8-lane accumulators, sum[j][l] covering element 32 s + 8 j + l of step s.
struct Accumulators4x8 {
  float sum[4][8] = {};

  // GGML_F32x8_REDUCE: sum0 += sum2, sum1 += sum3, sum0 += sum1; then the low and high
  // halves, then two horizontal adds: ((t0 + t1) + (t2 + t3)).
  float reduce_f32x8() {
    for (int l = 0; l < 8; ++l) {
      sum[0][l] = sum[0][l] + sum[2][l];
      sum[1][l] = sum[1][l] + sum[3][l];
    }
    for (int l = 0; l < 8; ++l) sum[0][l] = sum[0][l] + sum[1][l];
    float t[4];
    for (int l = 0; l < 4; ++l) t[l] = sum[0][l] + sum[0][4 + l];
    const float t01 = t[0] + t[1];
    const float t23 = t[2] + t[3];
    return t01 + t23;
  }

  // The BF16 kernel's reduction: (c1 + c3) + (c2 + c4), halves, then (g0 + g2) + (g1 + g3).
  float reduce_bf16() {
    float c[8];
    for (int l = 0; l < 8; ++l) {
      const float c13 = sum[0][l] + sum[2][l];
      const float c24 = sum[1][l] + sum[3][l];
      c[l] = c13 + c24;
    }
    float g[4];
    for (int l = 0; l < 4; ++l) g[l] = c[4 + l] + c[l];
    const float even = g[0] + g[2];
    const float odd = g[1] + g[3];
    return even + odd;
  }
};

// F32 and F16: sum[j][l] = fma(x, y, sum[j][l]) over full steps.
template <float (*Load)(const uint8_t*, int64_t)>
float fused_steps(const uint8_t* w, const uint8_t* a, int64_t full) {
  Accumulators4x8 acc;
  for (int64_t i = 0; i < full; i += kStep) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 8; ++l) {
        const int64_t e = i + 8 * j + l;
        acc.sum[j][l] = std::fma(Load(w, e), Load(a, e), acc.sum[j][l]);
      }
    }
  }
  return acc.reduce_f32x8();
}

}  // namespace

float dot_f32(const uint8_t* w, const uint8_t* a, int64_t n) {
  const int64_t full = n & ~static_cast<int64_t>(kStep - 1);
  float sum = fused_steps<load_f32>(w, a, full);
  // The tail is `sumf += x[i]*y[i]` in float, as llama.cpp's binary runs it (GCC 11 code):
  // runs of 8, then one run of 4, with rounded products added in order; the last 0..3
  // elements with fused multiply-adds.
  const int64_t rest = n - full;
  const int64_t unfused_end = full + (rest & ~static_cast<int64_t>(3));
  int64_t i = full;
  for (; i < unfused_end; ++i) sum += unfused(load_f32(w, i) * load_f32(a, i));
  for (; i < n; ++i) sum = std::fma(load_f32(w, i), load_f32(a, i), sum);
  return sum;
}

float dot_f16(const uint8_t* w, const uint8_t* a, int64_t n) {
  const int64_t full = n & ~static_cast<int64_t>(kStep - 1);
  double sum = fused_steps<load_f16_at>(w, a, full);
  for (int64_t i = full; i < n; ++i) {  // tail: float product, double sum
    const float product = load_f16_at(w, i) * load_f16_at(a, i);
    sum += static_cast<double>(product);
  }
  return static_cast<float>(sum);
}

float dot_bf16(const uint8_t* w, const uint8_t* a, int64_t n) {
  const int64_t full = n & ~static_cast<int64_t>(kStep - 1);
  Accumulators4x8 acc;
  for (int64_t i = 0; i < full; i += kStep) {
    for (int j = 0; j < 4; ++j) {
      for (int l = 0; l < 8; ++l) {
        const int64_t e = i + 8 * j + l;
        // _mm256_add_ps(_mm256_mul_ps(x, y), c): a product of two bf16 values is exact in
        // float, so the add is the only rounding, fused or not.
        acc.sum[j][l] = std::fma(load_bf16_at(w, e), load_bf16_at(a, e), acc.sum[j][l]);
      }
    }
  }
  double sum = acc.reduce_bf16();
  for (int64_t i = full; i < n; ++i) {
    const float product = load_bf16_at(w, i) * load_bf16_at(a, i);
    sum += static_cast<double>(product);
  }
  return static_cast<float>(sum);
}

}  // namespace alloy::cpu::scalar
