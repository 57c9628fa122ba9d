// F16 / F32 dot products in the summation orders of llama.cpp's AVX-512 CPU build, which
// runs every float matrix product - attention (K.Q, probabilities x V) and matmuls with
// F32 / F16 weights - through one of two kernels:
//   * ggml_vec_dot_f16 / _f32 (batches of one token, or shapes the GEMM refuses): four
//     16-float accumulators over steps of 64, reduced pairwise, leftovers added one by one;
//   * llamafile's tinyBLAS GEMM (batches of 2+ tokens): one 16-float accumulator per output
//     over steps of 16, reduced by _mm512_reduce_add_ps.
// Products are exact in float and accumulated with fused multiply-adds exactly where ggml's
// build fuses them, so the results are bit-identical to ggml's (checked against its
// libraries). DEBT: ggml's AVX2-only build sums in 8-float vectors; on such machines a few
// results differ from llama.cpp's in the last bit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace alloy::cpu {

enum class FloatFormat { f16, f32 };  // IEEE binary16 bits, or float

enum class DotKernel {
  vec_dot,  // ggml_vec_dot_f16 / ggml_vec_dot_f32
  gemm,     // tinyBLAS; needs n % kGemmStep == 0
};

constexpr int kGemmStep = 16;
constexpr int kVecDotStep = 64;  // ggml_vec_dot's step: four accumulators of 16 floats

// The kernel llama.cpp runs for a product over an inner dimension n, with m rows in the
// first matrix and batch_tokens rows in the second; gemm_possible is false where llama.cpp
// never reaches the GEMM (a strided F32 query).
DotKernel float_dot_kernel(int batch_tokens, int64_t n, int64_t m, bool gemm_possible);

// Dot product of x and y, n values of `format` each (raw bytes).
float float_dot(FloatFormat format, const uint8_t* x, const uint8_t* y, int64_t n, DotKernel kernel);

// out[j] = float_dot(format, x + j * x_stride, y, n, kernel) for j < count: the K.Q scores of
// one query against `count` cached keys, or one head's output channels (rows of V^T) times
// the probabilities, in one call.
void float_dot_rows(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* y, int64_t n,
                    DotKernel kernel, float* out);

// Scratch floats float_dot_rows_multi needs (one converted 16-row chunk and the
// accumulators of up to kMultiMaxVectors vectors).
constexpr int kMultiChunk = 256;
constexpr int kMultiMaxVectors = 16;
// (With the vec_dot kernel: also one vector's converted chunk, and four accumulators per row.)
constexpr size_t kMultiScratchFloats = 16 * kMultiChunk + kMultiChunk + kMultiMaxVectors * 16 * 4 * 16;

// outs[k][j] = float_dot(format, x + j * x_stride, ys[k], n, kernel) for j < count, k < n_ys:
// float_dot_rows for several vectors against the same rows (the query heads that share one
// KV head), with each row converted from F16 once for all of them. Same results.
void float_dot_rows_multi(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* const* ys,
                          int n_ys, int64_t n, DotKernel kernel, float* const* outs, float* scratch);

// The same without the SIMD kernels (the reference the SIMD kernels are tested against).
float float_dot_scalar(FloatFormat format, const uint8_t* x, const uint8_t* y, int64_t n, DotKernel kernel);

#if defined(__x86_64__) || defined(_M_X64)
namespace avx2 {
// ggml_vec_dot_f16 / _f32's vector part: the products of the first `full` elements (a
// multiple of 64) in four 16-float accumulators, reduced as ggml reduces them.
float vec_dot_steps(FloatFormat format, const uint8_t* x, const uint8_t* y, int64_t full);
// tinyBLAS's dot product: one 16-float accumulator over n elements (a multiple of 16), reduced.
float gemm_dot(FloatFormat format, const uint8_t* x, const uint8_t* y, int64_t n);
// F16C conversion (round to nearest even, as half.h) of the first n - n % 8 floats of x;
// returns how many it converted.
int64_t f32_to_f16_vector_part(const float* x, int64_t n, uint16_t* out);
// gemm_dot for rows x + j * x_stride, j < count (float_dot_rows with the GEMM kernel).
void gemm_dot_rows(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* y, int64_t n,
                   float* out);
}  // namespace avx2
namespace avx512 {
// gemm_dot_rows for the first count / 16 * 16 rows (returned); the caller does the rest.
int gemm_dot_rows(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* y, int64_t n,
                  float* out);
// The same for several vectors (float_dot_rows_multi; scratch: kMultiScratchFloats).
int gemm_dot_rows_multi(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* const* ys,
                        int n_ys, int64_t n, float* const* outs, float* scratch);
// float_dot_rows_multi with the vec_dot kernel for n a multiple of kVecDotStep (every row;
// scratch: kMultiScratchFloats).
void vec_dot_rows_multi(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* const* ys,
                        int n_ys, int64_t n, float* const* outs, float* scratch);
}  // namespace avx512
#endif

}  // namespace alloy::cpu
