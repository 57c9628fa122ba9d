// Dispatch of the public quantized-arithmetic API (quant.h) to the per-type kernels:
// llama.cpp's type_traits_cpu table (vec_dot_type per weight type) and the kernel choice,
// the SIMD kernels of the active level (cpu_features.h) where a type has them, the scalar
// reference otherwise.
#include "backend/cpu/quant.h"

#include <string>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/vec_dot.h"
#include "core/error.h"

namespace alloy::cpu {
namespace {

struct WeightKernel {
  ActType activation;
  DotKernel dot;
};

// The kernels that have SIMD versions, per SIMD level (cpu_features.h).
struct SimdKernels {
  DotKernel f16, q8_0, q4_0, q5_0, q4_k, q5_k, q6_k;
};

constexpr SimdKernels kScalarKernels{scalar::dot_f16,       scalar::dot_q8_0_q8_0, scalar::dot_q4_0_q8_0,
                                     scalar::dot_q5_0_q8_0, scalar::dot_q4_k_q8_k, scalar::dot_q5_k_q8_k,
                                     scalar::dot_q6_k_q8_k};

const SimdKernels& simd_kernels() {
  static const SimdKernels kernels = [] {
    switch (active_simd_level()) {
      case SimdLevel::avx2:
      case SimdLevel::avx512_vnni:
      case SimdLevel::avx512_amx:
#if defined(ALLOY_CPU_HAS_AVX2_KERNELS)
        return SimdKernels{avx2::dot_f16,       avx2::dot_q8_0_q8_0, avx2::dot_q4_0_q8_0, avx2::dot_q5_0_q8_0,
                           avx2::dot_q4_k_q8_k, avx2::dot_q5_k_q8_k, avx2::dot_q6_k_q8_k};
#else
        return kScalarKernels;
#endif
      case SimdLevel::neon_dotprod:
#if defined(ALLOY_CPU_HAS_NEON_KERNELS)
        // DEBT: no NEON Q5_0 kernel (Q4_K_M files of 896-wide models use it): the scalar one.
        return SimdKernels{neon::dot_f16,       neon::dot_q8_0_q8_0, neon::dot_q4_0_q8_0, scalar::dot_q5_0_q8_0,
                           neon::dot_q4_k_q8_k, neon::dot_q5_k_q8_k, neon::dot_q6_k_q8_k};
#else
        return kScalarKernels;
#endif
      case SimdLevel::scalar: return kScalarKernels;
    }
    return kScalarKernels;
  }();
  return kernels;
}

WeightKernel kernel_for(GgmlType weight_type) {
  const SimdKernels& k = simd_kernels();
  switch (weight_type) {
    case GgmlType::F32: return {ActType::f32, scalar::dot_f32};
    case GgmlType::F16: return {ActType::f16, k.f16};
    case GgmlType::BF16: return {ActType::bf16, scalar::dot_bf16};
    case GgmlType::Q4_0: return {ActType::q8_0, k.q4_0};
    case GgmlType::Q4_1: return {ActType::q8_1, scalar::dot_q4_1_q8_1};
    case GgmlType::Q5_0: return {ActType::q8_0, k.q5_0};
    case GgmlType::Q5_1: return {ActType::q8_1, scalar::dot_q5_1_q8_1};
    case GgmlType::Q8_0: return {ActType::q8_0, k.q8_0};
    case GgmlType::Q2_K: return {ActType::q8_k, scalar::dot_q2_k_q8_k};
    case GgmlType::Q3_K: return {ActType::q8_k, scalar::dot_q3_k_q8_k};
    case GgmlType::Q4_K: return {ActType::q8_k, k.q4_k};
    case GgmlType::Q5_K: return {ActType::q8_k, k.q5_k};
    case GgmlType::Q6_K: return {ActType::q8_k, k.q6_k};
    ALLOY_UNSUPPORTED_WEIGHT_TYPE_CASES:
      break;
  }
  throw Error(ErrorKind::unsupported_tensor_type,
              "no CPU matmul kernel for " + std::string(ggml_type_name(weight_type)) + " weights");
}

}  // namespace

ActType activation_type_for(GgmlType weight_type) { return kernel_for(weight_type).activation; }

size_t activation_row_bytes(ActType type, int64_t n) {
  const size_t count = static_cast<size_t>(n);
  switch (type) {
    case ActType::f32: return count * sizeof(float);
    case ActType::f16:
    case ActType::bf16: return count * 2;
    case ActType::q8_0: return count / kQK * sizeof(BlockQ8_0);
    case ActType::q8_1: return count / kQK * sizeof(BlockQ8_1);
    case ActType::q8_k: return count / kQK_K * sizeof(BlockQ8_K);
  }
  return 0;
}

float vec_dot(GgmlType weight_type, const uint8_t* weight_row, const uint8_t* act_row, int64_t n) {
  return kernel_for(weight_type).dot(weight_row, act_row, n);
}

WeightDotFn dot_kernel(GgmlType weight_type) { return kernel_for(weight_type).dot; }

}  // namespace alloy::cpu
