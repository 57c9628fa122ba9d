// The dequantization policies of the float weight types F32, F16 and BF16, shared by the
// decode matrix-vector kernels (matvec_float.metal, on matvec_template.h, which documents the
// policy interface) and the embedding lookup (get_rows.metal). Any row length works (odd,
// shorter than a chunk): the elements past n_cols are neither read nor counted. Every
// conversion is exact, as the CPU's dequantize_row (backend/cpu/dequantize.cpp) is.
#pragma once

#include "kernel_prelude.h"

// Four consecutive elements per lane, so the 32 lanes read 128 consecutive weights.
struct DequantF32 {
  enum : int { kChunk = 4, kRows = kargs::kMatVecF32Rows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const float> v = (device_ptr<const float>)row;
    for (short k = 0; k < kChunk; ++k) {
      const int e = chunk * kChunk + k;
      w[k] = e < n_cols ? v[e] : 0.0f;
    }
  }
};

struct DequantF16 {
  enum : int { kChunk = 4, kRows = kargs::kMatVecF16Rows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const half> v = (device_ptr<const half>)row;
    for (short k = 0; k < kChunk; ++k) {
      const int e = chunk * kChunk + k;
      w[k] = e < n_cols ? float(v[e]) : 0.0f;
    }
  }
};

// BF16 is the high half of a float's bits: the value is those bits shifted up (as
// bf16_bits_to_float in core/half.h), read as a ushort so no bfloat type (MSL 3.1) is needed.
struct DequantBF16 {
  enum : int { kChunk = 4, kRows = kargs::kMatVecBF16Rows };
  static void dequantize(device_ptr<const uchar> row, int chunk, int n_cols, thread float * w) {
    device_ptr<const ushort> v = (device_ptr<const ushort>)row;
    for (short k = 0; k < kChunk; ++k) {
      const int e = chunk * kChunk + k;
      w[k] = e < n_cols ? as_type<float>(uint(v[e]) << 16) : 0.0f;
    }
  }
};
