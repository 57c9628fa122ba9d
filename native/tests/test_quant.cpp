// Properties of the CPU quantized arithmetic (backend/cpu/quant.h): the vec_dot type table,
// vec_dot against a double-precision dot of the dequantized rows (a named relative tolerance
// per type, set from measurement), the activation round trip within half a quantization
// step, and the AVX2 / NEON kernels against the scalar reference. Bit-exactness with llama.cpp is
// in test_quant_known_answers.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/quant.h"
#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/quantize_activations.h"
#include "backend/cpu/vec_dot.h"
#include "check.h"
#include "random_rows.h"
#include "core/error.h"
#include "core/half.h"
#include "core/random_weights.h"
#include "core/rng.h"

using namespace alloy;
using namespace alloy::cpu;
using alloy_test::quantized;
using alloy_test::random_activations;
using alloy_test::random_weight_row;

namespace {

struct TypeCase {
  GgmlType type;
  ActType activation;
  // Largest accepted |vec_dot - exact| / sum_i |w_i * a_i|, where exact is the double dot of
  // the dequantized weight row and the dequantized activation row. Set at about 2.5x the
  // maximum measured over this test's inputs (float lanes, the f32 scale products d_w * d_a).
  double tolerance;
};

// Q4_1 / Q5_1 take their min term from the activation's s = d * sum(q), stored as f16, so
// they differ from the dequantized dot by up to |m| * |s| * 2^-11 per block (measured
// 1.9e-4 / 5.9e-4 relative); against a reference that uses s like llama.cpp, the float
// float tolerance holds (kQ8_1WithSTolerance; measured 1.3e-7: the min terms are summed in
// one scalar float, so it is a little above the lane-summed types).
constexpr double kQ8_1WithSTolerance = 3e-7;

const TypeCase kTypes[] = {
    {GgmlType::F32, ActType::f32, 4e-7},    // measured 1.45e-7 (includes the unsplit tail)
    {GgmlType::F16, ActType::f16, 1.5e-7},  // measured 5.7e-8
    {GgmlType::BF16, ActType::bf16, 1.5e-7},  // measured 5.5e-8
    {GgmlType::Q8_0, ActType::q8_0, 1e-7},  // measured 3.8e-8
    {GgmlType::Q4_0, ActType::q8_0, 1e-7},  // measured 2.8e-8
    {GgmlType::Q4_1, ActType::q8_1, 5e-4},  // measured 1.9e-4 (the f16 s, see above)
    {GgmlType::Q5_0, ActType::q8_0, 1e-7},  // measured 3.5e-8
    {GgmlType::Q5_1, ActType::q8_1, 1.5e-3},  // measured 5.9e-4 (the f16 s, see above)
    {GgmlType::Q2_K, ActType::q8_k, 1e-7},  // measured 4.2e-8
    {GgmlType::Q3_K, ActType::q8_k, 1e-7},  // measured 3.0e-8
    {GgmlType::Q4_K, ActType::q8_k, 2e-7},  // measured 7.7e-8
    {GgmlType::Q5_K, ActType::q8_k, 1.5e-7},  // measured 5.2e-8
    {GgmlType::Q6_K, ActType::q8_k, 1.5e-7},  // measured 4.6e-8
};

// For Q8_1 activations: how llama.cpp's min term differs from the dequantized one, summed
// over blocks: m_w * (s_a - d_a * sum(q_a)). Q4_1 and Q5_1 blocks both keep m at byte 2.
double q8_1_min_term_correction(GgmlType type, const std::vector<uint8_t>& w, const std::vector<uint8_t>& a) {
  const size_t weight_block = ggml_type_traits(type).block_bytes;
  const auto* act = reinterpret_cast<const BlockQ8_1*>(a.data());
  double correction = 0;
  for (size_t b = 0; b < w.size() / weight_block; ++b) {
    const F16Field m = {w[b * weight_block + 2], w[b * weight_block + 3]};
    int sum = 0;
    for (int8_t q : act[b].qs) sum += q;
    const double dequantized_sum = static_cast<double>(load_f16(act[b].d)) * sum;
    correction += static_cast<double>(load_f16(m)) * (load_f16(act[b].s) - dequantized_sum);
  }
  return correction;
}

int64_t block_elems(ActType activation, GgmlType type) {
  const int64_t weight_block = ggml_type_traits(type).block_elems;
  return activation == ActType::q8_k ? kQK_K : std::max<int64_t>(weight_block, activation == ActType::q8_0 || activation == ActType::q8_1 ? kQK : 1);
}

std::vector<float> dequantized(GgmlType type, const std::vector<uint8_t>& row, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  dequantize_row(type, row.data(), out.data(), n);
  return out;
}

}  // namespace

TEST_CASE("activation types follow llama.cpp's vec_dot_type table") {
  for (const TypeCase& c : kTypes) CHECK(activation_type_for(c.type) == c.activation);
  for (GgmlType unsupported : {GgmlType::Q8_1, GgmlType::Q8_K, GgmlType::IQ2_XXS, GgmlType::IQ4_NL, GgmlType::I32}) {
    CHECK_THROWS_KIND(activation_type_for(unsupported), ErrorKind::unsupported_tensor_type);
    CHECK_THROWS_KIND(vec_dot(unsupported, nullptr, nullptr, 0), ErrorKind::unsupported_tensor_type);
    CHECK_THROWS_KIND(dequantize_row(unsupported, nullptr, nullptr, 0), ErrorKind::unsupported_tensor_type);
  }
  CHECK_EQ(activation_row_bytes(ActType::f32, 10), 40u);
  CHECK_EQ(activation_row_bytes(ActType::f16, 10), 20u);
  CHECK_EQ(activation_row_bytes(ActType::bf16, 10), 20u);
  CHECK_EQ(activation_row_bytes(ActType::q8_0, 64), 68u);
  CHECK_EQ(activation_row_bytes(ActType::q8_1, 64), 72u);
  CHECK_EQ(activation_row_bytes(ActType::q8_k, 512), 584u);
}

TEST_CASE("vec_dot matches a double dot of the dequantized rows within each type's tolerance") {
  Rng rng(31);
  for (const TypeCase& c : kTypes) {
    const int64_t block = block_elems(c.activation, c.type);
    double worst = 0, worst_with_s = 0;
    for (int trial = 0; trial < 60; ++trial) {
      // Up to 2048 elements; the plain types also get lengths that are not multiples of 32.
      const int64_t n = block == 1 ? 1 + static_cast<int64_t>(rng.below(700)) : block * (1 + static_cast<int64_t>(rng.below(2048 / block)));
      const std::vector<uint8_t> w = random_weight_row(c.type, n, rng);
      const std::vector<float> x = random_activations(rng, n);
      const std::vector<uint8_t> a = quantized(c.activation, x);
      std::vector<float> a_values(static_cast<size_t>(n));
      dequantize_activation_row(c.activation, a.data(), n, a_values.data());
      const std::vector<float> w_values = dequantized(c.type, w, n);
      double exact = 0, magnitude = 0;
      for (size_t i = 0; i < w_values.size(); ++i) {
        exact += static_cast<double>(w_values[i]) * a_values[i];
        magnitude += std::fabs(static_cast<double>(w_values[i]) * a_values[i]);
      }
      const double got = vec_dot(c.type, w.data(), a.data(), n);
      const double relative = magnitude > 0 ? std::fabs(got - exact) / magnitude : std::fabs(got);
      worst = std::max(worst, relative);
      if (c.activation == ActType::q8_1) {
        const double with_s = exact + q8_1_min_term_correction(c.type, w, a);
        worst_with_s = std::max(worst_with_s, std::fabs(got - with_s) / magnitude);
      }
    }
    std::printf("  %-5s worst relative error %.3g (tolerance %.3g)", std::string(ggml_type_name(c.type)).c_str(), worst,
                c.tolerance);
    if (c.activation == ActType::q8_1) std::printf(", with llama.cpp's s: %.3g", worst_with_s);
    std::printf("\n");
    if (!(worst <= c.tolerance) || !(worst_with_s <= kQ8_1WithSTolerance)) {
      alloy_test::report_failure(__FILE__, __LINE__, std::string(ggml_type_name(c.type)) + " exceeds its tolerance");
    }
  }
}

TEST_CASE("Q8_0 / Q8_1 activations round-trip within half a step (plus the f16 rounding of the scale)") {
  Rng rng(5);
  for (ActType type : {ActType::q8_0, ActType::q8_1}) {
    std::vector<float> x = random_activations(rng, 32 * 64);
    std::fill(x.begin() + 64, x.begin() + 96, 0.0f);  // an all-zero block
    const std::vector<uint8_t> q = quantized(type, x);
    const size_t block_bytes = type == ActType::q8_0 ? sizeof(BlockQ8_0) : sizeof(BlockQ8_1);
    for (size_t b = 0; b < x.size() / kQK; ++b) {
      const uint8_t* block = q.data() + b * block_bytes;
      F16Field d_field = {block[0], block[1]};
      const float d = load_f16(d_field);
      const auto* qs = reinterpret_cast<const int8_t*>(block + (type == ActType::q8_0 ? 2 : 4));
      float amax = 0;
      for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[b * kQK + j]));
      const double exact_step = amax / 127.0;
      int sum = 0, largest = 0;
      for (int j = 0; j < kQK; ++j) {
        const double error = std::fabs(x[b * kQK + j] - static_cast<double>(d) * qs[j]);
        // 1e-4: x * (127 / amax) is rounded to float before rounding to an integer
        const double bound = 0.5 * exact_step * (1 + 1e-4) + std::abs(qs[j]) * std::fabs(exact_step - d);
        CHECK(error <= bound);
        sum += qs[j];
        largest = std::max(largest, std::abs(static_cast<int>(qs[j])));
      }
      CHECK_EQ(largest, amax > 0 ? 127 : 0);
      if (type == ActType::q8_1) {  // s = d * sum(q), rounded to f16
        F16Field s_field = {block[2], block[3]};
        const double s_exact = static_cast<double>(static_cast<float>(amax / 127.0f)) * sum;
        CHECK(std::fabs(load_f16(s_field) - s_exact) <= std::fabs(s_exact) * std::ldexp(1.0, -11) + 1e-7);
      }
    }
  }
}

TEST_CASE("Q8_K activations round-trip within half a step; bsums are the exact sums") {
  Rng rng(6);
  std::vector<float> x = random_activations(rng, kQK_K * 8);
  std::fill(x.begin() + 2 * kQK_K, x.begin() + 3 * kQK_K, 0.0f);
  const std::vector<uint8_t> q = quantized(ActType::q8_k, x);
  const auto* blocks = reinterpret_cast<const BlockQ8_K*>(q.data());
  for (size_t b = 0; b < x.size() / kQK_K; ++b) {
    const float d = load_q8_k_scale(blocks[b]);
    int largest = 0;
    for (int j = 0; j < kQK_K; ++j) {
      const int qj = blocks[b].qs[j];
      CHECK(std::fabs(x[b * kQK_K + j] - static_cast<double>(d) * qj) <= 0.5 * std::fabs(d) * (1 + 1e-4));
      CHECK(qj >= -127 && qj <= 127);
      largest = std::max(largest, std::abs(qj));
    }
    CHECK_EQ(largest, b == 2 ? 0 : 127);
    for (int i = 0; i < kQK_K / 16; ++i) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += blocks[b].qs[16 * i + j];
      CHECK_EQ(static_cast<int>(load_q8_k_bsum(blocks[b], i)), sum);
    }
  }
}

TEST_CASE("F16 / BF16 activations round to the nearest representable value") {
  Rng rng(8);
  const std::vector<float> x = random_activations(rng, 4096);
  const std::vector<uint8_t> h = quantized(ActType::f16, x);
  const std::vector<uint8_t> b = quantized(ActType::bf16, x);
  std::vector<float> hv(x.size()), bv(x.size());
  dequantize_activation_row(ActType::f16, h.data(), static_cast<int64_t>(x.size()), hv.data());
  dequantize_activation_row(ActType::bf16, b.data(), static_cast<int64_t>(x.size()), bv.data());
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::fabs(x[i]) < 6.2e-5f) continue;  // f16 subnormals have an absolute, not relative, step
    CHECK(std::fabs(hv[i] - x[i]) <= std::ldexp(std::fabs(x[i]), -11));
    CHECK(std::fabs(bv[i] - x[i]) <= std::ldexp(std::fabs(x[i]), -8));
  }
}

namespace {

// A SIMD kernel set (avx2::, neon::) against the scalar reference on random rows of every
// length class. Tolerance: none. Both compute the same integer lanes and the same float
// operations in the same order.
struct KernelPair {
  GgmlType type;
  DotKernel simd;
  DotKernel reference;
};

template <size_t kCount>
void check_bit_identical(const char* simd_name, const KernelPair (&pairs)[kCount]) {
  Rng rng(77);
  int compared = 0;
  for (const KernelPair& p : pairs) {
    const ActType activation = activation_type_for(p.type);
    const int64_t block = block_elems(activation, p.type);
    for (int trial = 0; trial < 100; ++trial) {
      const int64_t n = block == 1 ? 1 + static_cast<int64_t>(rng.below(700)) : block * (1 + static_cast<int64_t>(rng.below(4096 / block)));
      const std::vector<uint8_t> w = random_weight_row(p.type, n, rng);
      const std::vector<uint8_t> a = quantized(activation, random_activations(rng, n));
      const float simd = p.simd(w.data(), a.data(), n);
      const float reference = p.reference(w.data(), a.data(), n);
      ++compared;
      if (std::memcmp(&simd, &reference, sizeof simd) != 0) {
        alloy_test::report_failure(__FILE__, __LINE__, std::string(ggml_type_name(p.type)) + ": " + simd_name + " " +
                                                           std::to_string(simd) + " != scalar " + std::to_string(reference));
      }
    }
  }
  std::printf("  %s: %d dot products compared with the scalar reference\n", simd_name, compared);
}

}  // namespace

#if defined(ALLOY_CPU_HAS_AVX2_KERNELS)
TEST_CASE("AVX2 kernels agree with the scalar reference bit for bit") {
  if (host_simd_level() == SimdLevel::scalar) {
    std::printf("skipped on this CPU: no AVX2 (the scalar kernels run here)\n");
    return;
  }
  const KernelPair pairs[] = {
      {GgmlType::F16, avx2::dot_f16, scalar::dot_f16},
      {GgmlType::Q8_0, avx2::dot_q8_0_q8_0, scalar::dot_q8_0_q8_0},
      {GgmlType::Q4_0, avx2::dot_q4_0_q8_0, scalar::dot_q4_0_q8_0},
      {GgmlType::Q5_0, avx2::dot_q5_0_q8_0, scalar::dot_q5_0_q8_0},
      {GgmlType::Q4_K, avx2::dot_q4_k_q8_k, scalar::dot_q4_k_q8_k},
      {GgmlType::Q5_K, avx2::dot_q5_k_q8_k, scalar::dot_q5_k_q8_k},
      {GgmlType::Q6_K, avx2::dot_q6_k_q8_k, scalar::dot_q6_k_q8_k},
  };
  check_bit_identical("AVX2", pairs);
}
#endif

#if defined(ALLOY_CPU_HAS_NEON_KERNELS)
TEST_CASE("NEON kernels agree with the scalar reference bit for bit") {
  const KernelPair pairs[] = {
      {GgmlType::F16, neon::dot_f16, scalar::dot_f16},
      {GgmlType::Q8_0, neon::dot_q8_0_q8_0, scalar::dot_q8_0_q8_0},
      {GgmlType::Q4_0, neon::dot_q4_0_q8_0, scalar::dot_q4_0_q8_0},
      {GgmlType::Q4_K, neon::dot_q4_k_q8_k, scalar::dot_q4_k_q8_k},
      {GgmlType::Q5_K, neon::dot_q5_k_q8_k, scalar::dot_q5_k_q8_k},
      {GgmlType::Q6_K, neon::dot_q6_k_q8_k, scalar::dot_q6_k_q8_k},
  };
  check_bit_identical("NEON", pairs);
}
#endif
