// Decode matrix-vector kernels with F32 and F16 weights (matvec_template.h):
// kernel_mv_f32_<input>_<output>, kernel_mv_f16_<input>_<output>. Any row length works (odd,
// shorter than a chunk): the elements past n_cols are neither read nor counted.
#include "matvec_template.h"

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

ALLOY_MV_KERNELS(DequantF32, f32)
ALLOY_MV_KERNELS(DequantF16, f16)
