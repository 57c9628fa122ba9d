// Exact scalar conversions between float and the two 16-bit float formats of GGUF files:
// IEEE binary16 ("f16") and bfloat16 ("bf16"). Bit-identical to what llama.cpp computes on
// x86-64: f32 -> f16 rounds to nearest even like the F16C instruction (vcvtps2ph with
// imm 0), including subnormals, overflow to infinity and quiet NaNs that keep the top of
// their payload; f16 -> f32 and bf16 -> f32 are exact; f32 -> bf16 is ggml's
// GGML_FP32_TO_BF16 (round to nearest even, NaN forced quiet, subnormals kept).
#pragma once

#include <cstdint>
#include <cstring>

// The conversions are `static inline` (one copy per file, built for that file's instruction
// set), as the SIMD kernel files that use them are compiled for other instruction sets than the
// rest (see backend/cpu/quant_blocks.h).
namespace alloy {

namespace half_detail {
static inline uint32_t bits_of(float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}
static inline float float_of(uint32_t bits) {
  float value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}
}  // namespace half_detail

// f32 -> f16 bits, round to nearest even (NaN stays NaN and quiet, overflow becomes infinity).
static inline uint16_t float_to_f16_bits(float value) {
  const uint32_t x = half_detail::bits_of(value);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t exponent = (x >> 23) & 0xFFu;
  uint32_t mantissa = x & 0x7FFFFFu;
  if (exponent == 0xFF) {  // infinity, or NaN: quiet, top 9 payload bits kept (as F16C does)
    return static_cast<uint16_t>(sign | 0x7C00u | (mantissa != 0 ? 0x200u | (mantissa >> 13) : 0u));
  }
  const int half_exponent = static_cast<int>(exponent) - 127 + 15;
  if (half_exponent >= 31) return static_cast<uint16_t>(sign | 0x7C00u);
  uint32_t shift = 13;  // mantissa bits dropped for a normal half
  uint32_t half = 0;
  if (half_exponent <= 0) {  // subnormal half (or zero): value = m * 2^-24
    if (half_exponent < -10) return static_cast<uint16_t>(sign);
    mantissa |= 0x800000u;
    shift = static_cast<uint32_t>(14 - half_exponent);
  } else {
    half = static_cast<uint32_t>(half_exponent) << 10;
  }
  const uint32_t kept = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  half += kept;  // a carry out of the mantissa correctly bumps the exponent (up to infinity)
  if (rest > halfway || (rest == halfway && (kept & 1u) != 0)) ++half;
  return static_cast<uint16_t>(sign | half);
}

// f16 bits -> f32, exact (a NaN stays NaN with its payload, made quiet).
static inline float f16_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  const uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F) {
    return half_detail::float_of(sign | 0x7F800000u | (mantissa != 0 ? 0x400000u | (mantissa << 13) : 0u));
  }
  if (exponent != 0) return half_detail::float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa * 2^-24, exact in float.
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
  return sign != 0 ? -magnitude : magnitude;
}

// f32 -> bf16 bits, round to nearest even; NaN forced quiet (ggml's GGML_FP32_TO_BF16).
static inline uint16_t float_to_bf16_bits(float value) {
  const uint32_t x = half_detail::bits_of(value);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);
  return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

// bf16 bits -> f32, exact.
static inline float bf16_bits_to_float(uint16_t h) { return half_detail::float_of(static_cast<uint32_t>(h) << 16); }

// Short names for the kernels.
static inline uint16_t f32_to_f16(float value) { return float_to_f16_bits(value); }
static inline float f16_to_f32(uint16_t bits) { return f16_bits_to_float(bits); }
static inline uint16_t f32_to_bf16(float value) { return float_to_bf16_bits(value); }
static inline float bf16_to_f32(uint16_t bits) { return bf16_bits_to_float(bits); }

}  // namespace alloy
