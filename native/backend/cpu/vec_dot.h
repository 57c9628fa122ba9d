// The dot-product kernels behind alloy::cpu::vec_dot (quant.h), one per weight type.
//
// `scalar` is the portable reference and defines the semantics: ggml's x86 AVX2 vec_dot
// (ggml-cpu/arch/x86/quants.c, ggml-cpu/vec.cpp) computed lane by lane, so the integer
// parts are exact and the float accumulation happens in the same lanes and order
// (x86_float_order.h), giving bit-identical results. `avx2` holds vectorized versions of
// the hot kernels, compiled for AVX2 + FMA + F16C on every x86-64 build; they compute the same
// operations in the same order and must agree with `scalar` bit for bit.
//
// Every kernel: w = one weight row of n elements, a = the activation row of the matching
// vec_dot type (quant.h); n a multiple of the block size; int8 activation quants in [-127, 127].
#pragma once

#include <cstdint>

#include "backend/cpu/quant.h"  // WeightDotFn

namespace alloy::cpu {

using DotKernel = WeightDotFn;

namespace scalar {
float dot_f32(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_f16(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_bf16(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q4_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q4_1_q8_1(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q5_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q5_1_q8_1(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q8_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q2_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q3_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q4_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q5_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q6_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
}  // namespace scalar

// x86-64 builds always contain them (vec_dot_avx2.cpp is compiled for AVX2 whatever the
// baseline); cpu_features.h decides at run time whether they are called.
#if defined(__x86_64__) || defined(_M_X64)
#define ALLOY_CPU_HAS_AVX2_KERNELS 1
namespace avx2 {
float dot_f16(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q8_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q4_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q5_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q4_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q5_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q6_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
}  // namespace avx2
#endif

#if defined(__aarch64__) && defined(__ARM_NEON) && defined(__ARM_FEATURE_DOTPROD)
#define ALLOY_CPU_HAS_NEON_KERNELS 1
namespace neon {
float dot_f16(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q8_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q4_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q4_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q5_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
float dot_q6_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n);
}  // namespace neon
#endif

}  // namespace alloy::cpu
