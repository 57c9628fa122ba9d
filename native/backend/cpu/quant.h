// The CPU backend's quantized arithmetic, bit-exact with llama.cpp's CPU backend (x86-64
// AVX2 build): for a matmul with weights of type T, llama.cpp first converts each
// activation row to T's "vec_dot type" and then takes dot products of weight rows with it.
//
//   weight type                  activation type   rounding of the activation quants
//   F32 / F16 / BF16             F32 / F16 / BF16  f16, bf16: round to nearest even
//   Q8_0, Q4_0, Q5_0             Q8_0              d = amax / 127, q = round-half-even(x * (127 / amax))
//   Q4_1, Q5_1                   Q8_1              as Q8_0, plus s = d * sum(q)
//   Q2_K, Q3_K, Q4_K, Q5_K, Q6_K Q8_K              q = round-half-even(x * (-127 / max)), d = 1 / (-127 / max)
//
// All pointers are raw for speed; each function states its size precondition, and callers
// check bounds at the model boundary (tensor shapes validated at load).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/ggml_type.h"

namespace alloy::cpu {

enum class ActType { f32, f16, bf16, q8_0, q8_1, q8_k };

// The activation type llama.cpp converts to for weights of `weight_type`;
// Error(unsupported_tensor_type) for a type the engine does not compute with.
ActType activation_type_for(GgmlType weight_type);

// Bytes of an activation row of n elements. Precondition: n >= 0 and a multiple of the
// type's block size (32 for Q8_0 / Q8_1, 256 for Q8_K, 1 otherwise).
size_t activation_row_bytes(ActType type, int64_t n);

// Converts one activation row (n floats) to `type`, exactly as llama.cpp's CPU backend does.
// Preconditions: x has n floats, out has activation_row_bytes(type, n) bytes, n as above.
void quantize_activation_row(ActType type, const float* x, int64_t n, uint8_t* out);

// Dot product of one weight row (n elements of weight_type) with one activation row already
// converted to activation_type_for(weight_type); the result llama.cpp's vec_dot gives.
// Preconditions: weight_row has ggml_row_bytes(weight_type, n) bytes, act_row has
// activation_row_bytes(activation_type_for(weight_type), n) bytes and came from
// quantize_activation_row (its int8 quants lie in [-127, 127]), n a multiple of both block sizes.
float vec_dot(GgmlType weight_type, const uint8_t* weight_row, const uint8_t* act_row, int64_t n);

// The kernel vec_dot dispatches to for weight_type, for loops that take many dot products
// with one weight type (a matmul) and should look the kernel up once. Same preconditions.
using WeightDotFn = float (*)(const uint8_t* weight_row, const uint8_t* act_row, int64_t n);
WeightDotFn dot_kernel(GgmlType weight_type);  // Error(unsupported_tensor_type) like vec_dot

// Row dequantization (embeddings lookup: llama.cpp's get_rows dequantizes exactly this way).
// Preconditions: src has ggml_row_bytes(type, n) bytes, dst has n floats.
void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n);

}  // namespace alloy::cpu
