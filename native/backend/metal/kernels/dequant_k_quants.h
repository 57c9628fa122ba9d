// The dequantization policies of the K-quant weight types Q2_K, Q3_K, Q4_K, Q5_K and Q6_K,
// shared by the decode matrix-vector kernels (matvec_k_quants.metal, on matvec_template.h,
// which documents the policy interface) and the embedding lookup (get_rows.metal). n_cols
// must be a multiple of 256. A chunk is a sixteenth of a super-block: elements 16 i .. 16 i + 15
// (i = chunk % 16), which share one scale (and min); 16 lanes share a super-block. Each
// dequantize follows dequantize_q*_k in backend/cpu/dequantize.cpp operation by operation, and
// the bit positions of backend/cpu/quant_blocks.h (element e = 128 h + 32 k + l for the 2-bit
// fields, 64 j + 32 s + l for the nibbles of Q4_K / Q5_K).
#pragma once

#include "ggml_blocks.h"

// The 2-bit field of element e of a Q2_K / Q3_K block: bits 2k..2k+1 of qs[32 h + l].
template <typename B>
int k_quant_crumb(device_ptr<const B> b, int e) {
  return (b->qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3;
}

// The nibble of element e of a Q4_K / Q5_K block: nibble s of qs[32 j + l].
template <typename B>
int k_quant_nibble(device_ptr<const B> b, int e) {
  const int byte = b->qs[32 * (e / 64) + e % 32];
  return ((e / 32) & 1) != 0 ? byte >> 4 : byte & 0xF;
}

// The 6-bit scale (minmax 0) or min (minmax 1) of sub-block j (0..7) of a Q4_K / Q5_K block
// (ggml's get_scale_min_k4).
template <typename B>
int k4_scale_min(device_ptr<const B> b, int j, int minmax) {
  if (j < 4) {
    return b->scales[j + 4 * minmax] & 63;
  }
  if (minmax == 0) {
    return (b->scales[j + 4] & 0xF) | ((b->scales[j - 4] >> 6) << 4);
  }
  return (b->scales[j + 4] >> 4) | ((b->scales[j] >> 6) << 4);
}

struct DequantQ2_K {
  enum : int { kChunk = 16, kRows = kargs::kMatVecQ2_KRows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q2_K> b = (device_ptr<const block_q2_K>)row + chunk / 16;
    const int i = chunk % 16;
    const float d = float(b->d);
    const float dmin = float(b->dmin);
    const int sc = b->scales[i];
    const float dl = d * float(sc & 0xF);
    const float ml = dmin * float(sc >> 4);
    for (short k = 0; k < kChunk; ++k) {
      const float scaled = dl * float(k_quant_crumb(b, 16 * i + k));
      w[k] = scaled - ml;
    }
  }
};

struct DequantQ3_K {
  enum : int { kChunk = 16, kRows = kargs::kMatVecQ3_KRows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q3_K> b = (device_ptr<const block_q3_K>)row + chunk / 16;
    const int i = chunk % 16;
    // Scale i: its low 4 bits are a nibble of scales[i % 4 + 4 * ((i / 4) % 2)] (the low one
    // for i < 8), its high 2 bits are bits 2 (i / 4) .. of scales[8 + i % 4].
    const int low = (b->scales[i % 4 + 4 * ((i / 4) % 2)] >> (4 * (i / 8))) & 0xF;
    const int high = (b->scales[8 + i % 4] >> (2 * (i / 4))) & 3;
    const float dl = float(b->d) * float((low | (high << 4)) - 32);
    for (short k = 0; k < kChunk; ++k) {
      const int e = 16 * i + k;
      const int hbit = (b->hmask[e % 32] >> (e / 32)) & 1;
      w[k] = dl * float(k_quant_crumb(b, e) - (hbit != 0 ? 0 : 4));
    }
  }
};

struct DequantQ4_K {
  enum : int { kChunk = 16, kRows = kargs::kMatVecQ4_KRows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q4_K> b = (device_ptr<const block_q4_K>)row + chunk / 16;
    const int i = chunk % 16;
    const float ds = float(b->d) * float(k4_scale_min(b, i / 2, 0));
    const float dm = float(b->dmin) * float(k4_scale_min(b, i / 2, 1));
    for (short k = 0; k < kChunk; ++k) {
      const float scaled = ds * float(k_quant_nibble(b, 16 * i + k));
      w[k] = scaled - dm;
    }
  }
};

struct DequantQ5_K {
  enum : int { kChunk = 16, kRows = kargs::kMatVecQ5_KRows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q5_K> b = (device_ptr<const block_q5_K>)row + chunk / 16;
    const int i = chunk % 16;
    const float ds = float(b->d) * float(k4_scale_min(b, i / 2, 0));
    const float dm = float(b->dmin) * float(k4_scale_min(b, i / 2, 1));
    for (short k = 0; k < kChunk; ++k) {
      const int e = 16 * i + k;
      const int q = k_quant_nibble(b, e) + (((b->qh[e % 32] >> (e / 32)) & 1) << 4);
      const float scaled = ds * float(q);
      w[k] = scaled - dm;
    }
  }
};

struct DequantQ6_K {
  enum : int { kChunk = 16, kRows = kargs::kMatVecQ6_KRows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const block_q6_K> b = (device_ptr<const block_q6_K>)row + chunk / 16;
    const int i = chunk % 16;
    const float ds = float(b->d) * float(b->scales[i]);
    const int h = i / 8;
    const int k2 = (i / 2) % 4;  // which 2-bit field of qh, and which nibble of ql
    for (short k = 0; k < kChunk; ++k) {
      const int l = 16 * (i % 2) + k;
      const int low_byte = b->ql[64 * h + 32 * (k2 & 1) + l];
      const int low = k2 < 2 ? low_byte & 0xF : low_byte >> 4;
      const int high = (b->qh[32 * h + l] >> (2 * k2)) & 3;
      w[k] = ds * float((low | (high << 4)) - 32);
    }
  }
};
