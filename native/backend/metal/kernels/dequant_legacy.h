// The dequantization policies of the 32-element block types Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0,
// shared by the decode matrix-vector kernels (matvec_legacy.metal, matvec_q8_0.metal, on
// matvec_template.h, which documents the policy interface) and the embedding lookup
// (get_rows.metal). n_cols must be a multiple of 32 (ggml's rows of these types are), so a
// chunk never reaches past the row. Q4_* / Q5_*: a chunk is half a block, elements 0..15 (the
// low nibbles of qs) or 16..31 (the high nibbles), so two lanes share a block. Each dequantize
// follows dequantize_q*_* in backend/cpu/dequantize.cpp operation by operation.
#pragma once

#include "ggml_blocks.h"

// The 4-bit quant of element half_index * 16 + k of a block.
template <typename B>
int legacy_nibble(device_ptr<const B> b, int half_index, short k) {
  return half_index == 0 ? (b->qs[k] & 0x0F) : (b->qs[k] >> 4);
}
// The fifth bit of element e (0..31) of a Q5 block, as 0 or 16.
template <typename B>
int legacy_fifth_bit(device_ptr<const B> b, int e) {
  return ((b->qh[e / 8] >> (e % 8)) & 1) << 4;
}

struct DequantQ4_0 {
  enum : int { kChunk = 16, kRows = kargs::kMatVecQ4_0Rows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q4_0> b = (device_ptr<const block_q4_0>)row + chunk / 2;
    const float d = float(b->d);
    for (short k = 0; k < kChunk; ++k) {
      w[k] = float(legacy_nibble(b, chunk % 2, k) - 8) * d;
    }
  }
};

struct DequantQ4_1 {
  enum : int { kChunk = 16, kRows = kargs::kMatVecQ4_1Rows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q4_1> b = (device_ptr<const block_q4_1>)row + chunk / 2;
    const float d = float(b->d);
    const float m = float(b->m);
    for (short k = 0; k < kChunk; ++k) {
      const float scaled = float(legacy_nibble(b, chunk % 2, k)) * d;
      w[k] = scaled + m;
    }
  }
};

struct DequantQ5_0 {
  enum : int { kChunk = 16, kRows = kargs::kMatVecQ5_0Rows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q5_0> b = (device_ptr<const block_q5_0>)row + chunk / 2;
    const float d = float(b->d);
    for (short k = 0; k < kChunk; ++k) {
      const int q = legacy_nibble(b, chunk % 2, k) | legacy_fifth_bit(b, (chunk % 2) * 16 + k);
      w[k] = float(q - 16) * d;
    }
  }
};

struct DequantQ5_1 {
  enum : int { kChunk = 16, kRows = kargs::kMatVecQ5_1Rows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q5_1> b = (device_ptr<const block_q5_1>)row + chunk / 2;
    const float d = float(b->d);
    const float m = float(b->m);
    for (short k = 0; k < kChunk; ++k) {
      const int q = legacy_nibble(b, chunk % 2, k) | legacy_fifth_bit(b, (chunk % 2) * 16 + k);
      const float scaled = float(q) * d;
      w[k] = scaled + m;
    }
  }
};

// A chunk is a quarter block: four lanes per block of 32, eight elements per lane.
// x = float(q) * d, as dequantize_q8_0 (exact in float: an 8-bit times an 11-bit significand).
struct DequantQ8_0 {
  enum : int { kChunk = 8, kRows = kargs::kMatVecQ8_0Rows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q8_0> b = (device_ptr<const block_q8_0>)row + chunk / 4;
    const float d = float(b->d);
    const short first = (chunk % 4) * kChunk;
    for (short k = 0; k < kChunk; ++k) {
      w[k] = float(b->qs[first + k]) * d;
    }
  }
};
