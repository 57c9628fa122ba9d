// Decode matrix-vector kernels with Q8_0 weights (matvec_template.h): kernel_mv_q8_0_<input>_<output>.
// n_cols must be a multiple of 32 (ggml's Q8_0 rows are).
#include "ggml_blocks.h"
#include "matvec_template.h"

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

ALLOY_MV_KERNELS(DequantQ8_0, q8_0)
