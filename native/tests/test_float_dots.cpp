// The float dot products of attention and F16 / F32 matmuls (backend/cpu/float_dots.h): the
// SIMD kernels of the active level against the scalar emulation of ggml's summation orders,
// bit for bit (tolerance: none; the lanes see the same fused multiply-adds in the same order).
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/float_dots.h"
#include "check.h"
#include "core/half.h"
#include "core/rng.h"

using namespace alloy;
using namespace alloy::cpu;

namespace {

std::vector<uint8_t> random_row(FloatFormat format, int64_t n, Rng& rng) {
  std::vector<uint8_t> out(static_cast<size_t>(n) * (format == FloatFormat::f16 ? 2 : 4));
  for (int64_t i = 0; i < n; ++i) {
    const float v = rng.normal() * (rng.below(16) == 0 ? 40.0f : 1.0f);
    if (format == FloatFormat::f16) {
      const uint16_t h = float_to_f16_bits(v);
      std::memcpy(out.data() + 2 * i, &h, 2);
    } else {
      std::memcpy(out.data() + 4 * i, &v, 4);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("float dot products equal the scalar emulation bit for bit") {
  Rng rng(404);
  int compared = 0;
  for (FloatFormat format : {FloatFormat::f16, FloatFormat::f32}) {
    for (DotKernel kernel : {DotKernel::vec_dot, DotKernel::gemm}) {
      for (int trial = 0; trial < 300; ++trial) {
        int64_t n = 1 + static_cast<int64_t>(rng.below(700));
        if (kernel == DotKernel::gemm) n = kGemmStep * (1 + n / kGemmStep);
        const std::vector<uint8_t> x = random_row(format, n, rng);
        const std::vector<uint8_t> y = random_row(format, n, rng);
        const float fast = float_dot(format, x.data(), y.data(), n, kernel);
        const float reference = float_dot_scalar(format, x.data(), y.data(), n, kernel);
        if (std::memcmp(&fast, &reference, sizeof fast) != 0) {
          alloy_test::report_failure(__FILE__, __LINE__, std::string(format == FloatFormat::f16 ? "f16" : "f32") +
                                                             (kernel == DotKernel::gemm ? " gemm" : " vec_dot") + " n=" +
                                                             std::to_string(n) + ": " + std::to_string(fast) +
                                                             " != " + std::to_string(reference));
        }
        ++compared;
      }
    }
  }
  std::printf("compared %d dot products\n", compared);
}

TEST_CASE("f32_to_f16_row equals the software conversion for every float class") {
  Rng rng(406);
  std::vector<float> x(1003);
  for (float& v : x) {
    const uint32_t bits = static_cast<uint32_t>(rng.next_u64());
    std::memcpy(&v, &bits, sizeof v);  // any bit pattern: NaN, infinities, subnormals, overflow
  }
  std::vector<uint16_t> fast(x.size());
  f32_to_f16_row(x.data(), static_cast<int64_t>(x.size()), fast.data());
  int differ = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const bool both_nan = std::isnan(x[i]) && (fast[i] & 0x7C00u) == 0x7C00u && (fast[i] & 0x3FFu) != 0;
    if (fast[i] != float_to_f16_bits(x[i]) && !both_nan) ++differ;
  }
  CHECK_EQ(differ, 0);
}

TEST_CASE("float_dot_rows equals one float_dot per row") {
  Rng rng(405);
  for (FloatFormat format : {FloatFormat::f16, FloatFormat::f32}) {
    for (DotKernel kernel : {DotKernel::vec_dot, DotKernel::gemm}) {
      const int64_t n = kernel == DotKernel::gemm ? 64 : 70;
      const int count = 37;
      const size_t elem = format == FloatFormat::f16 ? 2 : 4;
      const size_t stride = static_cast<size_t>(n + 6) * elem;  // rows with a gap, as in the KV cache
      const std::vector<uint8_t> x = random_row(format, static_cast<int64_t>(stride / elem) * count, rng);
      const std::vector<uint8_t> y = random_row(format, n, rng);
      std::vector<float> rows(count);
      float_dot_rows(format, x.data(), stride, count, y.data(), n, kernel, rows.data());
      for (int j = 0; j < count; ++j) {
        const float one = float_dot_scalar(format, x.data() + j * stride, y.data(), n, kernel);
        CHECK(std::memcmp(&one, &rows[static_cast<size_t>(j)], sizeof one) == 0);
      }
    }
  }
}

TEST_CASE("float_dot_rows_multi equals one scalar float_dot per row and vector") {
  Rng rng(406);
  std::vector<float> scratch(kMultiScratchFloats);
  int compared = 0, differ = 0;
  for (FloatFormat format : {FloatFormat::f16, FloatFormat::f32}) {
    for (DotKernel kernel : {DotKernel::vec_dot, DotKernel::gemm}) {
      // n past one kMultiChunk (the accumulators are kept between chunks; a last chunk of one
      // vec_dot step), rows past whole tiles
      for (int64_t n : {int64_t{64}, int64_t{kMultiChunk + 48}, int64_t{kMultiChunk + 64}, int64_t{2 * kMultiChunk}}) {
        for (int n_ys : {1, 7, kMultiMaxVectors + 1}) {
          const int count = 37;
          const size_t elem = format == FloatFormat::f16 ? 2 : 4;
          const size_t stride = static_cast<size_t>(n + 6) * elem;
          const std::vector<uint8_t> x = random_row(format, static_cast<int64_t>(stride / elem) * count, rng);
          std::vector<std::vector<uint8_t>> ys;
          std::vector<std::vector<float>> outs;
          std::vector<const uint8_t*> y_ptrs;
          std::vector<float*> out_ptrs;
          for (int k = 0; k < n_ys; ++k) {
            ys.push_back(random_row(format, n, rng));
            outs.emplace_back(count);
          }
          for (int k = 0; k < n_ys; ++k) {
            y_ptrs.push_back(ys[static_cast<size_t>(k)].data());
            out_ptrs.push_back(outs[static_cast<size_t>(k)].data());
          }
          float_dot_rows_multi(format, x.data(), stride, count, y_ptrs.data(), n_ys, n, kernel, out_ptrs.data(), scratch.data());
          for (int k = 0; k < n_ys; ++k) {
            for (int j = 0; j < count; ++j, ++compared) {
              const float one = float_dot_scalar(format, x.data() + j * stride, y_ptrs[static_cast<size_t>(k)], n, kernel);
              if (std::memcmp(&one, &outs[static_cast<size_t>(k)][static_cast<size_t>(j)], sizeof one) != 0) ++differ;
            }
          }
        }
      }
    }
  }
  std::printf("%d of %d results differ\n", differ, compared);
  CHECK_EQ(differ, 0);
}
