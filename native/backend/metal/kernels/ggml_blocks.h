// ggml's block structs for the Metal kernels (ggml-common.h in llama.cpp; the CPU backend's
// byte-level view of the same layouts is backend/cpu/quant_blocks.h). Valid MSL and, through
// the emulator, C++: `half` is MSL's half (metal_types.h in the emulator), the other fields
// are bytes, so every struct has alignment 2 and no padding on both sides; the static_asserts
// pin the sizes the weight rows are made of. Include after kernel_prelude.h.
#pragma once

#include "kernel_prelude.h"

// x = d * (q - 8); element j is the low nibble of qs[j], element j + 16 its high nibble.
struct block_q4_0 {
  half d;
  uint8_t qs[16];
};
// x = d * q + m (nibbles as Q4_0).
struct block_q4_1 {
  half d;
  half m;
  uint8_t qs[16];
};
// x = d * (q - 16): nibbles as Q4_0, bit j of qh (little-endian, byte j / 8) is element j's fifth bit.
struct block_q5_0 {
  half d;
  uint8_t qh[4];
  uint8_t qs[16];
};
// x = d * q + m (bits as Q5_0).
struct block_q5_1 {
  half d;
  half m;
  uint8_t qh[4];
  uint8_t qs[16];
};
// x = d * qs[j].
struct block_q8_0 {
  half d;
  int8_t qs[32];
};
// 16 sub-blocks of 16: x = d * (scales[i] & 15) * q - dmin * (scales[i] >> 4), q 2-bit;
// element 128 h + 32 k + l is bits 2k..2k+1 of qs[32 h + l].
struct block_q2_K {
  uint8_t scales[16];
  uint8_t qs[64];
  half d;
  half dmin;
};
// 16 sub-blocks of 16: x = d * (scale6 - 32) * (q - 4 * !hbit), q 2-bit as Q2_K; the high bit
// of element 128 h + 32 k + l is bit 4h + k of hmask[l]; the 6-bit scales packed in 12 bytes.
struct block_q3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];
  half d;
};
// 8 sub-blocks of 32: x = d * scale6 * q - dmin * min6, q 4-bit; element 64 j + l is the low
// nibble of qs[32 j + l], element 64 j + 32 + l its high nibble; scales and mins packed in 12 bytes.
struct block_q4_K {
  half d;
  half dmin;
  uint8_t scales[12];
  uint8_t qs[128];
};
// As Q4_K with a fifth bit: bit e / 32 of qh[e % 32] for element e.
struct block_q5_K {
  half d;
  half dmin;
  uint8_t scales[12];
  uint8_t qh[32];
  uint8_t qs[128];
};
// 16 sub-blocks of 16: x = d * scales[i] * (q - 32), q 6-bit: the low 4 bits in ql, the high 2 in qh.
struct block_q6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  half d;
};

static_assert(sizeof(block_q4_0) == 18, "block_q4_0 layout");
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 layout");
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 layout");
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 layout");
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 layout");
static_assert(sizeof(block_q2_K) == 84, "block_q2_K layout");
static_assert(sizeof(block_q3_K) == 110, "block_q3_K layout");
static_assert(sizeof(block_q4_K) == 144, "block_q4_K layout");
static_assert(sizeof(block_q5_K) == 176, "block_q5_K layout");
static_assert(sizeof(block_q6_K) == 210, "block_q6_K layout");
