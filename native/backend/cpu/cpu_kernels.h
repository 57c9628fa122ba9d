// Row kernels of the forward pass with llama.cpp's CPU numerics, operation for operation:
// the same float / double accumulations, the same fused multiply-adds where ggml's build
// contracts them, and ggml's own vector exp (not libm's) where ggml uses it, so results
// agree with llama.cpp to the last bit where the order of operations is fixed.
//
// The reference is ggml's x86 build with AVX-512 (what llama.cpp picks on AVX-512 machines):
// its vector loops work on 16 floats, and the leftover elements of a row (n % 16) take
// ggml's scalar path. DEBT: an AVX2-only build of ggml uses 8-float vectors and a slightly
// different vector exp, so on such machines a few results differ in the last bit.
#pragma once

#include <cstdint>

#include "backend/backend.h"

namespace alloy::cpu {

// ggml's vector loops cover this many floats at a time (AVX-512).
constexpr int kGgmlVectorWidth = 16;

// _mm512_reduce_add_ps as GCC implements it: the 16 floats summed by halves, pairwise.
float reduce_add_16(const float* v);

// ggml_v_expf (AVX-512 form) for one lane: exp(x) within 1.5 ulp, computed with the same
// operations and fused multiply-adds, so it returns the same bits.
float ggml_vector_expf(float x);

// y = x * (1 / sqrtf(mean + eps)) * weight, the sum of squares accumulated in double from
// float squares (ggml_compute_forward_rms_norm_f32). weight may be null (all ones).
void rms_norm_row(const float* x, const float* weight, int n, float eps, float* y);

// ggml_rope_cache_init for one position: cache[2i] = cos(theta_i) * attn_factor,
// cache[2i + 1] = sin(theta_i) * attn_factor for i < n_rot / 2, with
// theta_0 = position * freq_scale and theta accumulated as theta *= freq_base^(-2 / n_rot)
// in float.
void rope_cache(int32_t position, const RopeParams& params, float* cache);
// Rotates the first params.n_rot values of one head in place with a cache from rope_cache:
// each pair (x0, x1) becomes (fma(x0, cos, -(x1 * sin)), fma(x0, sin, x1 * cos)).
void rope_head(float* x, const float* cache, const RopeParams& params);
// rope_head without SIMD for pairs first_pair .. n_rot / 2 - 1 (pair i: values 2i, 2i + 1 in
// normal mode, i and i + n_rot / 2 in NEOX mode); the reference of the vector versions.
void rope_head_reference(float* x, const float* cache, const RopeParams& params, int first_pair = 0);

// ggml_soft_max_ext of one row without mask entries: p = softmax(scores * scale) over n
// values, exponentials by ggml_vector_expf, their sum in double over 16-float groups (each
// group summed in float in the order of _mm512_reduce_add_ps).
void softmax_row(const float* scores, int n, float scale, float* probs);

// The scalar forms of softmax_row and swiglu_row (the references of the SIMD versions).
void softmax_row_reference(const float* scores, int n, float scale, float* probs);
void swiglu_row_reference(const float* gate, const float* up, int n, float* out);

#if defined(__x86_64__) || defined(_M_X64)
namespace avx2 {
// softmax_row with 8-lane vectors (16-float groups as two halves); the same results.
void softmax_row(const float* scores, int n, float scale, float* probs);
// swiglu_row's 16-float groups (n - n % 16 elements, returned) and rope_head's first pairs, 8
// at a time (returns how many pairs), for CPUs without AVX-512; the same results.
int swiglu_vector_part(const float* gate, const float* up, int n, float* out);
int rope_vector_part(float* x, const float* cache, const RopeParams& params);
}  // namespace avx2
namespace avx512 {
// softmax_row with 16-lane vectors; the same results.
void softmax_row(const float* scores, int n, float scale, float* probs);
// swiglu_row's 16-float groups; returns how many elements it wrote (n - n % 16).
int swiglu_vector_part(const float* gate, const float* up, int n, float* out);
// rope_head for the first pairs, 16 at a time; returns how many pairs it rotated.
int rope_vector_part(float* x, const float* cache, const RopeParams& params);
}  // namespace avx512
#endif

// ggml_vec_swiglu_f32: out = silu(gate) * up over one row, silu(x) = x / (1 + exp(-x)),
// exp by ggml_vector_expf for the 16-float groups and by libm expf for the rest.
void swiglu_row(const float* gate, const float* up, int n, float* out);

// IEEE binary16 conversions, round to nearest even (ggml_cpu_fp32_to_fp16).
void f32_to_f16_row(const float* x, int64_t n, uint16_t* out);

}  // namespace alloy::cpu
