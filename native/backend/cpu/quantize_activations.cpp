#include "backend/cpu/quantize_activations.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/x86_float_order.h"

namespace alloy::cpu {
namespace {

// x86 MAXPS / MAXSS: the first operand if it is greater, else the second (so a NaN in
// either position yields the second operand).
float x86_max(float a, float b) { return a > b ? a : b; }

// max |x| over a block of 32, reduced in the order ggml's AVX2 code uses: four vectors of
// 8 lanes folded lane-wise, then the two 128-bit halves, then pairs, then the last two.
float block_abs_max_avx2_order(const float* x) {
  float lanes[8];
  for (int l = 0; l < 8; ++l) lanes[l] = std::fabs(x[l]);
  for (int v = 1; v < 4; ++v) {
    for (int l = 0; l < 8; ++l) lanes[l] = x86_max(lanes[l], std::fabs(x[8 * v + l]));
  }
  float quad[4];
  for (int l = 0; l < 4; ++l) quad[l] = x86_max(lanes[4 + l], lanes[l]);
  const float pair0 = x86_max(quad[0], quad[2]);
  const float pair1 = x86_max(quad[1], quad[3]);
  return x86_max(pair0, pair1);
}

// VROUNDPS (nearest even) then VCVTPS2DQ: NaN and out-of-range values become INT32_MIN.
int32_t round_to_int32_avx(float v) {
  const float r = std::nearbyint(v);  // default rounding mode: to nearest, ties to even
  if (!(r >= -2147483648.0f && r < 2147483648.0f)) return INT32_MIN;
  return static_cast<int32_t>(r);
}

// VPACKSSDW + VPACKSSWB: signed saturation of an int32 to int8.
int8_t saturate_to_int8(int32_t v) { return static_cast<int8_t>(v < -128 ? -128 : (v > 127 ? 127 : v)); }

// Quantizes one block of 32 the AVX2 way; returns d (unrounded) and the sum of the int32
// quants before saturation (what Q8_1's s is computed from).
struct Q8Block {
  float d;
  int32_t quant_sum;
};
Q8Block quantize_q8_block(const float* x, F16Field& d_field, int8_t* qs) {
  const float amax = block_abs_max_avx2_order(x);
  const float d = amax / 127.f;
  store_f16(d_field, d);
  const float id = amax != 0.0f ? 127.f / amax : 0.0f;
  uint32_t sum = 0;  // wraps like VPADDD (only reachable with non-finite inputs)
  for (int j = 0; j < kQK; ++j) {
    const int32_t q = round_to_int32_avx(x[j] * id);
    sum += static_cast<uint32_t>(q);
    qs[j] = saturate_to_int8(q);
  }
  int32_t signed_sum = 0;
  std::memcpy(&signed_sum, &sum, sizeof signed_sum);
  return {d, signed_sum};
}

// ggml's nearest_int: round half to even through the float adder (exact for |v| <= 2^22).
int nearest_int(float v) {
  const float shifted = v + 12582912.f;
  int32_t bits = 0;
  std::memcpy(&bits, &shifted, sizeof bits);
  return (bits & 0x007fffff) - 0x00400000;
}

void quantize_q8_k_block(const float* x, BlockQ8_K& y) {
  float max = 0;
  float amax = 0;
  for (int j = 0; j < kQK_K; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (amax == 0) {  // ggml leaves bsums untouched here; they only ever meet d = 0, so we zero them
    std::memset(&y, 0, sizeof y);
    return;
  }
  const float iscale = -127.f / max;
  for (int j = 0; j < kQK_K; ++j) {
    const int v = nearest_int(unfused(iscale * x[j]));
    y.qs[j] = static_cast<int8_t>(v < 127 ? v : 127);
  }
  for (int i = 0; i < kQK_K / 16; ++i) {
    int sum = 0;
    for (int j = 0; j < 16; ++j) sum += y.qs[16 * i + j];
    const int16_t sum16 = static_cast<int16_t>(sum);
    std::memcpy(y.bsums + 2 * i, &sum16, sizeof sum16);
  }
  const float d = 1 / iscale;
  std::memcpy(y.d, &d, sizeof d);
}

void store_u16(uint8_t* out, uint16_t bits) { std::memcpy(out, &bits, sizeof bits); }

}  // namespace

void quantize_row_q8_0(const float* x, int64_t n, uint8_t* out) {
#if defined(__x86_64__) || defined(_M_X64)
  static const bool simd = has_avx2(active_simd_level());
  if (simd) return avx2::quantize_row_q8_0(x, n, out);
#endif
  quantize_row_q8_0_reference(x, n, out);
}

void quantize_row_q8_0_reference(const float* x, int64_t n, uint8_t* out) {
  auto* y = reinterpret_cast<BlockQ8_0*>(out);  // byte-only struct: alignment 1, no padding
  for (int64_t i = 0; i < n / kQK; ++i) quantize_q8_block(x + i * kQK, y[i].d, y[i].qs);
}

void quantize_row_q8_1(const float* x, int64_t n, uint8_t* out) {
  auto* y = reinterpret_cast<BlockQ8_1*>(out);
  for (int64_t i = 0; i < n / kQK; ++i) {
    const Q8Block block = quantize_q8_block(x + i * kQK, y[i].d, y[i].qs);
    store_f16(y[i].s, block.d * static_cast<float>(block.quant_sum));
  }
}

void quantize_row_q8_k(const float* x, int64_t n, uint8_t* out) {
  auto* y = reinterpret_cast<BlockQ8_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i) quantize_q8_k_block(x + i * kQK_K, y[i]);
}

void quantize_activation_row(ActType type, const float* x, int64_t n, uint8_t* out) {
  switch (type) {
    case ActType::f32: std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float)); return;
    case ActType::f16:
      for (int64_t i = 0; i < n; ++i) store_u16(out + 2 * i, float_to_f16_bits(x[i]));
      return;
    case ActType::bf16:
      for (int64_t i = 0; i < n; ++i) store_u16(out + 2 * i, float_to_bf16_bits(x[i]));
      return;
    case ActType::q8_0: quantize_row_q8_0(x, n, out); return;
    case ActType::q8_1: quantize_row_q8_1(x, n, out); return;
    case ActType::q8_k: quantize_row_q8_k(x, n, out); return;
  }
}

void dequantize_activation_row(ActType type, const uint8_t* row, int64_t n, float* out) {
  switch (type) {
    case ActType::f32: std::memcpy(out, row, static_cast<size_t>(n) * sizeof(float)); return;
    case ActType::f16:
    case ActType::bf16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t bits = 0;
        std::memcpy(&bits, row + 2 * i, sizeof bits);
        out[i] = type == ActType::f16 ? f16_bits_to_float(bits) : bf16_bits_to_float(bits);
      }
      return;
    case ActType::q8_0: {
      const auto* y = reinterpret_cast<const BlockQ8_0*>(row);
      for (int64_t i = 0; i < n; ++i) out[i] = load_f16(y[i / kQK].d) * static_cast<float>(y[i / kQK].qs[i % kQK]);
      return;
    }
    case ActType::q8_1: {
      const auto* y = reinterpret_cast<const BlockQ8_1*>(row);
      for (int64_t i = 0; i < n; ++i) out[i] = load_f16(y[i / kQK].d) * static_cast<float>(y[i / kQK].qs[i % kQK]);
      return;
    }
    case ActType::q8_k: {
      const auto* y = reinterpret_cast<const BlockQ8_K*>(row);
      for (int64_t i = 0; i < n; ++i) {
        out[i] = load_q8_k_scale(y[i / kQK_K]) * static_cast<float>(y[i / kQK_K].qs[i % kQK_K]);
      }
      return;
    }
  }
}

}  // namespace alloy::cpu
