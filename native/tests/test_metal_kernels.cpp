// The Metal kernels (backend/metal/kernels/*.metal), compiled as C++ and run by the emulator
// (backend/metal/emu/), against the CPU backend's reference on odd and even shapes and shapes
// that are not multiples of the threadgroup or SIMD-group size, with both lane orders (a
// missing barrier shows as a difference between them). Every dispatch must also run clean:
// no out-of-bounds access, no partial barrier.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

namespace metal_kernels {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/matvec_q8_0.metal"
#include "backend/metal/kernels/rms_norm.metal"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_kernels

#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/quant.h"
#include "backend/cpu/quantize_activations.h"
#include "check.h"
#include "core/rng.h"
#include "random_rows.h"

using namespace alloy;
using namespace alloy::metal_emu;

namespace {

// RMSNorm: the kernel sums the squares in float, the CPU in double; the scale differs by the
// float sum's relative error (at most (n / threads + log2(threads)) * 2^-24 for these rows,
// halved by the square root), and each output may then round differently once more. Measured
// over the shapes below: at most 3.1e-7 relative (printed by the test); 1e-6 also covers the
// GPU's fast-math sqrt and division (a few ulp).
constexpr float kRmsNormRelTolerance = 1e-6f;

// Q8_0 matvec against the exact dot product (double) of the CPU's dequantized weights with
// the F32 activations: every product passes through at most this many float roundings in the
// kernel (q * x, 7 adds of a lane's 8 products, the scale, its block accumulation over up to
// n_blocks / 8 steps, and 31 adds of simd_sum in any order), so the error stays below
// kFloatEpsilon * roundings * sum |w x|. Measured: at most 0.03 of that bound.
constexpr double kFloatEpsilon = 5.9604644775390625e-8;  // 2^-24, float's unit roundoff
int matvec_q8_0_roundings(int n_blocks) { return 1 + 7 + 1 + (n_blocks + 7) / 8 + 31; }

// Q8_0 matvec against the CPU backend's result, which quantizes the activations to Q8_0:
// an activation then moves by at most half a quant step plus the f16 rounding of the block's
// scale d: |x - q * f16(d)| <= (0.5 + 127 * 2^-11) * d = kQ8_0ActivationErrorInScales * d.
// The CPU result may differ by sum over blocks of that times sum |w| of the block (plus the
// float rounding bound above for each side). Measured: at most 0.17 of that bound.
constexpr double kQ8_0ActivationErrorInScales = 0.5625;

DispatchReport run_rms_norm(const kargs::RmsNorm& args, int rows, int threads, LaneOrder order, const Buffer& x,
                            const Buffer& w, const Buffer& y) {
  DispatchConfig c;
  c.threadgroups = metal::uint3(static_cast<uint32_t>(rows), 1u, 1u);
  c.threads_per_threadgroup = metal::uint3(static_cast<uint32_t>(threads), 1u, 1u);
  c.threadgroup_memory = {kargs::kRmsNormPartials * sizeof(float)};
  c.order = order;
  const auto xv = x.view<const float>();
  const auto wv = w.view<const float>();
  const auto yv = y.view<float>();
  return dispatch(c, [&](const Lane& l) {
    metal_kernels::kernel_rms_norm_f32(args, xv, wv, yv, l.threadgroup_memory<float>(0), l.threadgroup_position_in_grid.x,
                                       l.thread_index_in_threadgroup, l.threads_per_threadgroup.x,
                                       l.simdgroup_index_in_threadgroup, l.thread_index_in_simdgroup);
  });
}

DispatchReport run_matvec_q8_0(const kargs::MatVec& args, int n_tokens, LaneOrder order, const Buffer& w, const Buffer& x,
                               const Buffer& y) {
  const int rows_per_group = kargs::kMatVecQ8_0Rows * kargs::kMatVecQ8_0Simdgroups;
  DispatchConfig c;
  c.threadgroups = metal::uint3(static_cast<uint32_t>((args.n_rows + rows_per_group - 1) / rows_per_group),
                                static_cast<uint32_t>(n_tokens), 1u);
  c.threads_per_threadgroup = metal::uint3(32u * kargs::kMatVecQ8_0Simdgroups, 1u, 1u);
  c.threadgroup_memory = {kargs::kMatVecPartials * sizeof(float)};
  c.order = order;
  const auto wv = w.view<const metal::uchar>();
  const auto xv = x.view<const float>();
  const auto yv = y.view<float>();
  const kargs::MatVecFused fused{args, 0.0f, 0};  // plain input, no bias (all variants: matvec_check.h)
  const Buffer unused("unused", 0);
  const auto uv = unused.view<const float>();
  return dispatch(c, [&](const Lane& l) {
    metal_kernels::kernel_mv<metal_kernels::DequantQ8_0, metal_kernels::kMvInX, metal_kernels::kMvOutStore>(
        fused, wv, unused.view<const metal::uchar>(), xv, uv, uv, yv, l.threadgroup_memory<float>(0),
        l.threadgroup_position_in_grid, l.thread_index_in_threadgroup, l.simdgroup_index_in_threadgroup,
        l.thread_index_in_simdgroup);
  });
}

bool clean(const DispatchReport& report) {
  if (!report.ok()) std::printf("dispatch errors:\n%s", report.summary().c_str());
  return report.ok();
}

}  // namespace

TEST_CASE("rms_norm.metal matches the CPU's rms_norm_row") {
  struct Shape {
    int n, rows, threads, stride_pad;
  };
  const Shape shapes[] = {{1, 1, 32, 0},   {7, 3, 32, 1},    {33, 2, 64, 0},  {100, 3, 96, 5},  {896, 2, 256, 0},
                          {1000, 2, 1024, 3}, {4097, 1, 160, 0}, {64, 4, 1024, 0}, {2, 2, 40, 0}};
  Rng rng(8);
  double worst = 0;
  for (const Shape& s : shapes) {
    const int stride = s.n + s.stride_pad;
    std::vector<float> x(static_cast<size_t>(s.rows) * stride), w(static_cast<size_t>(s.n));
    for (float& v : x) v = 2.0f * rng.normal();
    for (float& v : w) v = 1.0f + 0.5f * rng.normal();
    for (int has_weight : {1, 0}) {
      std::vector<float> expect(x.size(), 0.0f);
      for (int r = 0; r < s.rows; ++r) {
        const size_t o = static_cast<size_t>(r) * stride;
        cpu::rms_norm_row(&x[o], has_weight ? w.data() : nullptr, s.n, 1e-6f, &expect[o]);
      }
      const kargs::RmsNorm args{s.n, has_weight, 1e-6f, 0, static_cast<uint64_t>(stride)};
      for (LaneOrder order : {LaneOrder::forward, LaneOrder::reverse}) {
        const Buffer xb = Buffer::of("x", x), wb = Buffer::of("weight", w), yb("y", x.size() * sizeof(float));
        CHECK(clean(run_rms_norm(args, s.rows, s.threads, order, xb, wb, yb)));
        const std::vector<float> got = yb.to_vector<float>();
        bool within = true;
        for (int r = 0; r < s.rows; ++r) {
          for (int i = 0; i < s.n; ++i) {
            const size_t k = static_cast<size_t>(r) * stride + i;
            const double err = std::fabs(static_cast<double>(got[k]) - expect[k]);
            within &= err <= kRmsNormRelTolerance * std::fabs(expect[k]);
            if (expect[k] != 0.0f) worst = std::max(worst, err / std::fabs(expect[k]));
          }
        }
        CHECK(within);
      }
    }
  }
  std::printf("rms_norm: worst relative difference %.3g (tolerance %.3g)\n", worst, static_cast<double>(kRmsNormRelTolerance));
}

TEST_CASE("rms_norm.metal may write its output over its input") {
  const int n = 70;
  std::vector<float> x(n);
  Rng rng(9);
  for (float& v : x) v = rng.normal();
  std::vector<float> expect(n);
  cpu::rms_norm_row(x.data(), nullptr, n, 1e-5f, expect.data());
  const Buffer xb = Buffer::of("x", x);
  const kargs::RmsNorm args{n, 0, 1e-5f, 0, static_cast<uint64_t>(n)};
  CHECK(clean(run_rms_norm(args, 1, 64, LaneOrder::forward, xb, xb, xb)));
  const std::vector<float> got = xb.to_vector<float>();
  bool within = true;
  for (int i = 0; i < n; ++i) within &= std::fabs(got[i] - expect[i]) <= kRmsNormRelTolerance * std::fabs(expect[i]);
  CHECK(within);
}

TEST_CASE("matvec_q8_0.metal matches the CPU's dequantized weights and its Q8_0 dot products") {
  struct Shape {
    int n_cols, n_rows, n_tokens;
  };
  // Block counts 1, 2, 7, 9, 28, 128; row counts below, at and past a threadgroup's 8.
  const Shape shapes[] = {{32, 1, 1}, {64, 7, 1}, {224, 9, 2}, {288, 8, 1}, {896, 13, 1}, {4096, 17, 1}, {224, 31, 3}};
  Rng rng(80);
  double worst_float = 0, worst_cpu = 0;
  for (const Shape& s : shapes) {
    const size_t row_bytes = *ggml_row_bytes(GgmlType::Q8_0, static_cast<uint64_t>(s.n_cols));
    std::vector<uint8_t> weights;
    for (int r = 0; r < s.n_rows; ++r) {
      const std::vector<uint8_t> row = alloy_test::random_weight_row(GgmlType::Q8_0, s.n_cols, rng);
      weights.insert(weights.end(), row.begin(), row.end());
    }
    std::vector<float> x;
    for (int t = 0; t < s.n_tokens; ++t) {
      const std::vector<float> xt = alloy_test::random_activations(rng, s.n_cols);
      x.insert(x.end(), xt.begin(), xt.end());
    }
    const kargs::MatVec args{s.n_cols, s.n_rows, row_bytes, static_cast<uint64_t>(s.n_cols), static_cast<uint64_t>(s.n_rows)};
    for (LaneOrder order : {LaneOrder::forward, LaneOrder::reverse}) {
      const Buffer wb = Buffer::of("weights", weights), xb = Buffer::of("x", x);
      const Buffer yb("y", static_cast<size_t>(s.n_tokens) * s.n_rows * sizeof(float));
      CHECK(clean(run_matvec_q8_0(args, s.n_tokens, order, wb, xb, yb)));
      const std::vector<float> got = yb.to_vector<float>();
      bool within_float = true, within_cpu = true;
      std::vector<float> w_row(static_cast<size_t>(s.n_cols)), x_q8(static_cast<size_t>(s.n_cols));
      for (int t = 0; t < s.n_tokens; ++t) {
        const float* xt = &x[static_cast<size_t>(t) * s.n_cols];
        const std::vector<uint8_t> act = alloy_test::quantized(cpu::ActType::q8_0, std::vector<float>(xt, xt + s.n_cols));
        for (int r = 0; r < s.n_rows; ++r) {
          const uint8_t* wr = &weights[static_cast<size_t>(r) * row_bytes];
          cpu::dequantize_row(GgmlType::Q8_0, wr, w_row.data(), s.n_cols);
          double exact = 0, magnitude = 0, activation_bound = 0;
          for (int b = 0; b < s.n_cols / 32; ++b) {
            double block_w = 0, amax = 0;
            for (int e = b * 32; e < b * 32 + 32; ++e) {
              exact += static_cast<double>(w_row[e]) * xt[e];
              magnitude += std::fabs(static_cast<double>(w_row[e]) * xt[e]);
              block_w += std::fabs(w_row[e]);
              amax = std::max(amax, std::fabs(static_cast<double>(xt[e])));
            }
            activation_bound += kQ8_0ActivationErrorInScales * (amax / 127.0) * block_w;
          }
          const double float_bound = kFloatEpsilon * matvec_q8_0_roundings(s.n_cols / 32) * magnitude;
          const double value = got[static_cast<size_t>(t) * s.n_rows + r];
          const double cpu_value = cpu::vec_dot(GgmlType::Q8_0, wr, act.data(), s.n_cols);
          within_float &= std::fabs(value - exact) <= float_bound;
          within_cpu &= std::fabs(value - cpu_value) <= activation_bound + 2 * float_bound;
          if (float_bound > 0) worst_float = std::max(worst_float, std::fabs(value - exact) / float_bound);
          if (activation_bound > 0) worst_cpu = std::max(worst_cpu, std::fabs(value - cpu_value) / (activation_bound + 2 * float_bound));
        }
      }
      CHECK(within_float);
      CHECK(within_cpu);
    }
  }
  std::printf("matvec_q8_0: worst error / float rounding bound %.3g; worst difference from the CPU / its bound %.3g\n",
              worst_float, worst_cpu);
}
