#include "float_dots.h"

#include <cmath>
#include <cstring>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/cpu_kernels.h"
#include "core/half.h"

namespace alloy::cpu {

namespace {

constexpr int kLanes = 16;                  // floats in one __m512
constexpr int kVecDotAccumulators = 4;      // GGML_F32_ARR / GGML_F16_ARR
static_assert(kVecDotStep == kLanes * kVecDotAccumulators, "GGML_F32_STEP / GGML_F16_STEP");

template <FloatFormat T>
float load(const uint8_t* p, int64_t i) {
  if constexpr (T == FloatFormat::f16) {
    uint16_t bits = 0;
    std::memcpy(&bits, p + 2 * i, sizeof bits);
    return f16_to_f32(bits);
  } else {
    float v = 0;
    std::memcpy(&v, p + 4 * i, sizeof v);
    return v;
  }
}

template <FloatFormat T>
float vec_dot_steps(const uint8_t* x, const uint8_t* y, int64_t full) {
  float sum[kVecDotAccumulators][kLanes] = {};
  for (int64_t i = 0; i < full; i += kVecDotStep) {
    for (int j = 0; j < kVecDotAccumulators; ++j) {
      for (int l = 0; l < kLanes; ++l) {
        const int64_t e = i + j * kLanes + l;
        sum[j][l] = std::fma(load<T>(x, e), load<T>(y, e), sum[j][l]);
      }
    }
  }
  // GGML_F32x16_REDUCE: sum0 += sum2, sum1 += sum3, then sum0 += sum1.
  for (int l = 0; l < kLanes; ++l) {
    sum[0][l] = sum[0][l] + sum[2][l];
    sum[1][l] = sum[1][l] + sum[3][l];
  }
  for (int l = 0; l < kLanes; ++l) sum[0][l] = sum[0][l] + sum[1][l];
  return reduce_add_16(sum[0]);
}

template <FloatFormat T>
float vec_dot(const uint8_t* x, const uint8_t* y, int64_t n, bool simd) {
  const int64_t full = n - n % kVecDotStep;
#if defined(__x86_64__) || defined(_M_X64)
  const float reduced = simd ? avx2::vec_dot_steps(T, x, y, full) : vec_dot_steps<T>(x, y, full);
#else
  const float reduced = vec_dot_steps<T>(x, y, full);
#endif
  if constexpr (T == FloatFormat::f16) {
    // ggml_vec_dot_f16 keeps the sum in double and adds each leftover float product.
    double total = reduced;
    for (int64_t i = full; i < n; ++i) {
      const float product = load<T>(x, i) * load<T>(y, i);
      total += static_cast<double>(product);
    }
    return static_cast<float>(total);
  } else {
    // ggml_vec_dot_f32 keeps a float sum, and GCC compiled its leftover loop
    // `sumf += x[i]*y[i]` in three parts: groups of 16 and then one of 8 products rounded
    // (vmulps) and added in order, the last < 8 fused (vfmadd231ss).
    float total = reduced;
    int64_t i = full;
    auto add_rounded = [&](int64_t count) {
      for (const int64_t end = i + count; i < end; ++i) {
        const float product = load<T>(x, i) * load<T>(y, i);
        total += product;
      }
    };
    while (n - i >= 16) add_rounded(16);
    if (n - i >= 8) add_rounded(8);
    for (; i < n; ++i) total = std::fma(load<T>(x, i), load<T>(y, i), total);
    return total;
  }
}

template <FloatFormat T>
float gemm_dot(const uint8_t* x, const uint8_t* y, int64_t n) {
  float lanes[kLanes] = {};
  for (int64_t i = 0; i < n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] = std::fma(load<T>(x, i + l), load<T>(y, i + l), lanes[l]);
  }
  return reduce_add_16(lanes);
}

}  // namespace

DotKernel float_dot_kernel(int batch_tokens, int64_t n, int64_t m, bool gemm_possible) {
  // llamafile_sgemm: prompt processing only (n >= 2 columns), k % 16 == 0, m % 4 == 0.
  const bool gemm = gemm_possible && batch_tokens >= 2 && n % kGemmStep == 0 && m % 4 == 0;
  return gemm ? DotKernel::gemm : DotKernel::vec_dot;
}

namespace {

float dot_with(FloatFormat type, const uint8_t* x, const uint8_t* y, int64_t n, DotKernel kernel, bool simd) {
  switch (kernel) {
    case DotKernel::vec_dot:
      return type == FloatFormat::f16 ? vec_dot<FloatFormat::f16>(x, y, n, simd) : vec_dot<FloatFormat::f32>(x, y, n, simd);
    case DotKernel::gemm:
#if defined(__x86_64__) || defined(_M_X64)
      if (simd) return avx2::gemm_dot(type, x, y, n);
#endif
      return type == FloatFormat::f16 ? gemm_dot<FloatFormat::f16>(x, y, n) : gemm_dot<FloatFormat::f32>(x, y, n);
  }
  return 0.0f;
}

bool x86_simd_active() {
  const SimdLevel level = active_simd_level();
  return has_avx2(level);
}

}  // namespace

float float_dot(FloatFormat type, const uint8_t* x, const uint8_t* y, int64_t n, DotKernel kernel) {
  static const bool simd = x86_simd_active();
  return dot_with(type, x, y, n, kernel, simd);
}

void float_dot_rows(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* y, int64_t n,
                    DotKernel kernel, float* out) {
  static const bool simd = x86_simd_active();
#if defined(__x86_64__) || defined(_M_X64)
  static const bool avx512 = has_avx512_vnni(active_simd_level());
  if (simd && kernel == DotKernel::gemm) {
    const int done = avx512 ? avx512::gemm_dot_rows(format, x, x_stride, count, y, n, out) : 0;
    return avx2::gemm_dot_rows(format, x + static_cast<size_t>(done) * x_stride, x_stride, count - done, y, n, out + done);
  }
#endif
  for (int j = 0; j < count; ++j) out[j] = dot_with(format, x + j * x_stride, y, n, kernel, simd);
}

void float_dot_rows_multi(FloatFormat format, const uint8_t* x, size_t x_stride, int count, const uint8_t* const* ys,
                          int n_ys, int64_t n, DotKernel kernel, float* const* outs, float* scratch) {
  int done = 0;
#if defined(__x86_64__) || defined(_M_X64)
  static const bool avx512 = x86_simd_active() && has_avx512_vnni(active_simd_level());
  if (avx512 && kernel == DotKernel::gemm) done = avx512::gemm_dot_rows_multi(format, x, x_stride, count, ys, n_ys, n, outs, scratch);
  if (avx512 && kernel == DotKernel::vec_dot && n > 0 && n % kVecDotStep == 0) {
    // Without leftovers, vec_dot's result is its vector part (F16: double(reduced) back to float).
    return avx512::vec_dot_rows_multi(format, x, x_stride, count, ys, n_ys, n, outs, scratch);
  }
#endif
  for (int k = 0; k < n_ys; ++k) {
    float_dot_rows(format, x + static_cast<size_t>(done) * x_stride, x_stride, count - done, ys[k], n, kernel, outs[k] + done);
  }
}

float float_dot_scalar(FloatFormat type, const uint8_t* x, const uint8_t* y, int64_t n, DotKernel kernel) {
  return dot_with(type, x, y, n, kernel, false);
}

}  // namespace alloy::cpu
