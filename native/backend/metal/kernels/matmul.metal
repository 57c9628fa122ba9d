// Prompt matrix-matrix kernels of every weight type (matmul_template.h, kargs::MatMul):
// kernel_mm_<type>, the same types and dequantization policies as the matvec kernels.
// The weight tile element: half, as llama.cpp's kernel_mul_mm keeps its weight tiles, except
// for F32 and BF16, whose tiles are float. F16 weights are exact in half. A quantized weight
// (the CPU's float dequantization) is rounded to half, at most 2^-11 relative: the error the
// mm tests bound, and a few times below the activation rounding the CPU backend applies to the
// same products (Q8_0 / Q8_K activations). F32 weights would lose 13 of their 24 bits, and BF16
// ones their exponent range below half's (2^-14 and below turns subnormal), so these two take
// float tiles: twice the tile's 4 KiB of threadgroup memory, still 20 KiB in all.
#include "dequant_float.h"
#include "dequant_k_quants.h"
#include "dequant_legacy.h"
#include "matmul_template.h"

ALLOY_MM_KERNEL(DequantF32, float, f32)
ALLOY_MM_KERNEL(DequantF16, half, f16)
ALLOY_MM_KERNEL(DequantBF16, float, bf16)
ALLOY_MM_KERNEL(DequantQ4_0, half, q4_0)
ALLOY_MM_KERNEL(DequantQ4_1, half, q4_1)
ALLOY_MM_KERNEL(DequantQ5_0, half, q5_0)
ALLOY_MM_KERNEL(DequantQ5_1, half, q5_1)
ALLOY_MM_KERNEL(DequantQ8_0, half, q8_0)
ALLOY_MM_KERNEL(DequantQ2_K, half, q2_K)
ALLOY_MM_KERNEL(DequantQ3_K, half, q3_K)
ALLOY_MM_KERNEL(DequantQ4_K, half, q4_K)
ALLOY_MM_KERNEL(DequantQ5_K, half, q5_K)
ALLOY_MM_KERNEL(DequantQ6_K, half, q6_K)
