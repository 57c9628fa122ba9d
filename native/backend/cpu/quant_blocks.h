// Byte layouts of the ggml block types the CPU backend computes with (ggml-common.h in
// llama.cpp), as plain structs of bytes: alignment 1, so a block may start at any address
// of a mapped file, and no padding (the static_asserts pin every size and field offset).
// Multi-byte fields are little-endian in GGUF files; read them with the load_* helpers.
// The helpers are `static inline`: each file gets its own copy, built for that file's
// instruction set, so a kernel file compiled for AVX2 or AVX-512 never lends its copy to code
// that runs on CPUs without those instructions (a plain `inline` function is kept once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/half.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the quantized kernels read GGUF's little-endian fields with native loads"
#endif

namespace alloy::cpu {

constexpr int kQK = 32;     // elements per block of the legacy types (Q4_0 .. Q8_1)
constexpr int kQK_K = 256;  // elements per super-block of the K-quants (and Q8_K)
constexpr int kKScaleBytes = 12;  // packed 6-bit scales and mins of Q4_K / Q5_K

using F16Field = uint8_t[2];  // an IEEE binary16 value, little-endian

static inline float load_f16(const F16Field& field) {
  uint16_t bits = 0;
  std::memcpy(&bits, field, sizeof bits);
  return f16_bits_to_float(bits);
}
static inline void store_f16(F16Field& field, float value) {
  const uint16_t bits = float_to_f16_bits(value);
  std::memcpy(field, &bits, sizeof bits);
}
static inline uint32_t load_u32(const uint8_t* p) {
  uint32_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// x = d * (q - 8), q a 4-bit quant; element j in the low nibble of qs[j], element j + 16
// in the high nibble.
struct BlockQ4_0 {
  F16Field d;
  uint8_t qs[kQK / 2];
};
// x = d * q + m, q a 4-bit quant (nibbles as Q4_0).
struct BlockQ4_1 {
  F16Field d;
  F16Field m;
  uint8_t qs[kQK / 2];
};
// x = d * (q - 16), q a 5-bit quant: nibbles as Q4_0, bit j of qh (little-endian) is the
// fifth bit of element j.
struct BlockQ5_0 {
  F16Field d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
// x = d * q + m, q a 5-bit quant (bits as Q5_0).
struct BlockQ5_1 {
  F16Field d;
  F16Field m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
// x = d * q, q an int8 quant.
struct BlockQ8_0 {
  F16Field d;
  int8_t qs[kQK];
};
// Activation format of Q4_1 / Q5_1: x = d * q, and s = d * sum(q) (both f16).
struct BlockQ8_1 {
  F16Field d;
  F16Field s;
  int8_t qs[kQK];
};
// 16 sub-blocks of 16: x = d * (scales[i] & 15) * q - dmin * (scales[i] >> 4), q 2-bit.
// Element 128 * h + 32 * k + l is bits 2k..2k+1 of qs[32 * h + l].
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  F16Field d;
  F16Field dmin;
};
// 16 sub-blocks of 16: x = d * (scale6 - 32) * (q - 4 * !hbit), q 2-bit as Q2_K; the high
// bit of element 128 * h + 32 * k + l is bit 4h + k of hmask[l]; 6-bit scales packed in 12 bytes.
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  F16Field d;
};
// 8 sub-blocks of 32: x = d * scale6 * q - dmin * min6, q 4-bit; element 64 * j + l is the
// low nibble of qs[32 * j + l], element 64 * j + 32 + l its high nibble.
struct BlockQ4_K {
  F16Field d;
  F16Field dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};
// As Q4_K with a fifth bit: bit 2j of qh[l] for element 64 * j + l, bit 2j + 1 for 64 * j + 32 + l.
struct BlockQ5_K {
  F16Field d;
  F16Field dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
// 16 sub-blocks of 16: x = d * scales[i] * (q - 32), q 6-bit: low 4 bits in ql, high 2 in qh
// (layout at q6_k_quant below).
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  F16Field d;
};
// Activation format of the K-quants: x = d * q (d a float), bsums[i] = sum of qs[16i..16i+15].
struct BlockQ8_K {
  uint8_t d[4];               // float, little-endian
  int8_t qs[kQK_K];
  uint8_t bsums[kQK_K / 16 * 2];  // int16 each, little-endian
};

static inline float load_q8_k_scale(const BlockQ8_K& b) {
  float d = 0;
  std::memcpy(&d, b.d, sizeof d);
  return d;
}
static inline int16_t load_q8_k_bsum(const BlockQ8_K& b, int i) {
  int16_t v = 0;
  std::memcpy(&v, b.bsums + 2 * i, sizeof v);
  return v;
}

static_assert(sizeof(BlockQ4_0) == 18 && alignof(BlockQ4_0) == 1, "Q4_0 block layout");
static_assert(sizeof(BlockQ4_1) == 20 && alignof(BlockQ4_1) == 1, "Q4_1 block layout");
static_assert(sizeof(BlockQ5_0) == 22 && offsetof(BlockQ5_0, qs) == 6, "Q5_0 block layout");
static_assert(sizeof(BlockQ5_1) == 24 && offsetof(BlockQ5_1, qs) == 8, "Q5_1 block layout");
static_assert(sizeof(BlockQ8_0) == 34 && alignof(BlockQ8_0) == 1, "Q8_0 block layout");
static_assert(sizeof(BlockQ8_1) == 36 && alignof(BlockQ8_1) == 1, "Q8_1 block layout");
static_assert(sizeof(BlockQ2_K) == 84 && offsetof(BlockQ2_K, d) == 80, "Q2_K block layout");
static_assert(sizeof(BlockQ3_K) == 110 && offsetof(BlockQ3_K, d) == 108, "Q3_K block layout");
static_assert(sizeof(BlockQ4_K) == 144 && offsetof(BlockQ4_K, qs) == 16, "Q4_K block layout");
static_assert(sizeof(BlockQ5_K) == 176 && offsetof(BlockQ5_K, qs) == 48, "Q5_K block layout");
static_assert(sizeof(BlockQ6_K) == 210 && offsetof(BlockQ6_K, d) == 208, "Q6_K block layout");
static_assert(sizeof(BlockQ8_K) == 292 && offsetof(BlockQ8_K, bsums) == 260, "Q8_K block layout");

// The 4-bit quant of element e (0..31) of Q4_0 .. Q5_1: low nibble of qs[e] for e < 16,
// high nibble of qs[e - 16] otherwise.
static inline int legacy_nibble(const uint8_t (&qs)[kQK / 2], int e) { return e < 16 ? qs[e] & 0x0F : qs[e - 16] >> 4; }
// The fifth bit of element e (0..31) of Q5_0 / Q5_1: bit e of qh (little-endian), as 0 or 16.
static inline int legacy_fifth_bit(const uint8_t (&qh)[4], int e) { return static_cast<int>((load_u32(qh) >> e) & 1u) << 4; }

// Per-element quant accessors, e the element index within its super-block (0..255).

// The 2-bit field of element e = 128 h + 32 k + l: bits 2k..2k+1 of qs[32 h + l] (Q2_K, Q3_K).
static inline int k_quant_crumb(const uint8_t (&qs)[kQK_K / 4], int e) {
  return (qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
}
// Q3_K's high bit of element e = 128 h + 32 k + l: bit 4h + k of hmask[l].
static inline bool q3_k_high_bit(const uint8_t (&hmask)[kQK_K / 8], int e) { return ((hmask[e % 32] >> (e / 32)) & 1) != 0; }
// The 4-bit quant of element e = 64 j + 32 s + l of Q4_K / Q5_K: nibble s of qs[32 j + l].
static inline int k_quant_nibble(const uint8_t (&qs)[kQK_K / 2], int e) {
  const uint8_t byte = qs[32 * (e / 64) + e % 32];
  return ((e / 32) & 1) != 0 ? byte >> 4 : byte & 0xF;
}
// Q5_K's fifth bit of element e (sub-block e / 32): bit e / 32 of qh[e % 32], as 0 or 16.
static inline int q5_k_fifth_bit(const uint8_t (&qh)[kQK_K / 8], int e) { return ((qh[e % 32] >> (e / 32)) & 1) << 4; }
// Q6_K's unsigned 6-bit quant (0..63, stored value + 32) of element e = 128 h + 32 k + l:
// low 4 bits from ql[64 h + 32 (k & 1) + l] (low nibble for k < 2, high for k >= 2), high
// 2 bits from bits 2k..2k+1 of qh[32 h + l].
static inline int q6_k_quant(const BlockQ6_K& b, int e) {
  const int h = e / 128, k = (e / 32) % 4, l = e % 32;
  const uint8_t low_byte = b.ql[64 * h + 32 * (k & 1) + l];
  const int low = k < 2 ? low_byte & 0xF : low_byte >> 4;
  const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
  return low | (high << 4);
}

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block (ggml's get_scale_min_k4).
struct ScaleMin {
  int scale;
  int min;
};
static inline ScaleMin k4_scale_min(const uint8_t (&s)[kKScaleBytes], int j) {
  if (j < 4) return {s[j] & 63, s[j + 4] & 63};
  return {(s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4)};
}

// The 16 signed 6-bit scales of a Q3_K block (already minus 32).
static inline void q3_k_scales(const uint8_t (&s)[12], int (&out)[16]) {
  for (int k = 0; k < 4; ++k) {
    const int high = s[8 + k];
    out[k] = ((s[k] & 0xF) | ((high & 3) << 4)) - 32;
    out[4 + k] = ((s[4 + k] & 0xF) | (((high >> 2) & 3) << 4)) - 32;
    out[8 + k] = ((s[k] >> 4) | (((high >> 4) & 3) << 4)) - 32;
    out[12 + k] = ((s[4 + k] >> 4) | (((high >> 6) & 3) << 4)) - 32;
  }
}

}  // namespace alloy::cpu
