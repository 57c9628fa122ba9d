// Decode matrix-vector kernels with the K-quant weights Q2_K, Q3_K, Q4_K, Q5_K and Q6_K
// (matvec_template.h): kernel_mv_<q2_K|...|q6_K>_<input>_<output>. n_cols must be a multiple
// of 256; the dequantization policies are dequant_k_quants.h's.
#include "dequant_k_quants.h"
#include "matvec_template.h"

ALLOY_MV_KERNELS(DequantQ2_K, q2_K)
ALLOY_MV_KERNELS(DequantQ3_K, q3_K)
ALLOY_MV_KERNELS(DequantQ4_K, q4_K)
ALLOY_MV_KERNELS(DequantQ5_K, q5_K)
ALLOY_MV_KERNELS(DequantQ6_K, q6_K)
