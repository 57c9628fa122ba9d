// Decode matrix-vector kernels with Q8_0 weights (matvec_template.h): kernel_mv_q8_0_<input>_<output>.
// n_cols must be a multiple of 32 (ggml's Q8_0 rows are); the policy is dequant_legacy.h's.
#include "dequant_legacy.h"
#include "matvec_template.h"

ALLOY_MV_KERNELS(DequantQ8_0, q8_0)
