// Activation-row conversion to the "vec_dot types", exactly as llama.cpp's x86-64 CPU
// backend computes them (ggml-cpu/arch/x86/quants.c and ggml-quants.c):
//  * Q8_0 / Q8_1 (the AVX2 code): amax = max |x| over the block of 32; d = amax / 127 stored
//    as f16 (round to nearest even); q = round-half-to-even(x * (127 / amax)) (0 when amax
//    is 0). Q8_1 adds s = f16(d * sum(q)) with the unrounded float d.
//  * Q8_K (ggml's reference code, which every x86 build calls): max = the first element of
//    largest magnitude in the block of 256; iscale = -127 / max; q = min(127,
//    round-half-to-even(iscale * x)); d = 1 / iscale (a float); bsums[i] = sum of 16 quants.
//    An all-zero block gives d = 0 and zero quants.
//  * F16 / BF16: round to nearest even (half.h); F32: a copy.
// The public entry point is quantize_activation_row in quant.h.
#pragma once

#include <cstdint>

#include "backend/cpu/quant.h"

namespace alloy::cpu {

// Preconditions for all: x has n floats, out has activation_row_bytes(type, n) bytes.
void quantize_row_q8_0(const float* x, int64_t n, uint8_t* out);  // n % 32 == 0
void quantize_row_q8_1(const float* x, int64_t n, uint8_t* out);  // n % 32 == 0
void quantize_row_q8_k(const float* x, int64_t n, uint8_t* out);  // n % 256 == 0

// The scalar form of quantize_row_q8_0 (the reference of the SIMD version).
void quantize_row_q8_0_reference(const float* x, int64_t n, uint8_t* out);
#if defined(__x86_64__) || defined(_M_X64)
namespace avx2 {
void quantize_row_q8_0(const float* x, int64_t n, uint8_t* out);  // the same bytes, with AVX2
}
#endif

// The floats an activation row stands for (d * q per element for the Q8 types). For tests
// and references; llama.cpp never dequantizes activations. Preconditions as above, reversed.
void dequantize_activation_row(ActType type, const uint8_t* row, int64_t n, float* out);

}  // namespace alloy::cpu
