// Decode matrix-vector kernels with F32, F16 and BF16 weights (matvec_template.h):
// kernel_mv_<f32|f16|bf16>_<input>_<output>. Any row length works (dequant_float.h).
#include "dequant_float.h"
#include "matvec_template.h"

ALLOY_MV_KERNELS(DequantF32, f32)
ALLOY_MV_KERNELS(DequantF16, f16)
ALLOY_MV_KERNELS(DequantBF16, bf16)
