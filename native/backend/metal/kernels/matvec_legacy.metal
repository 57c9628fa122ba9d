// Decode matrix-vector kernels with Q4_0, Q4_1, Q5_0 and Q5_1 weights (matvec_template.h):
// kernel_mv_<q4_0|q4_1|q5_0|q5_1>_<input>_<output>. n_cols must be a multiple of 32; the
// dequantization policies are dequant_legacy.h's.
#include "dequant_legacy.h"
#include "matvec_template.h"

ALLOY_MV_KERNELS(DequantQ4_0, q4_0)
ALLOY_MV_KERNELS(DequantQ4_1, q4_1)
ALLOY_MV_KERNELS(DequantQ5_0, q5_0)
ALLOY_MV_KERNELS(DequantQ5_1, q5_1)
