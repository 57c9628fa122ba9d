// The prompt matrix-matrix kernels kernel_mm_<type> (backend/metal/kernels/matmul.metal on
// matmul_template.h, SIMD-group matrices) of every weight type, through the emulator, against
// the exact product in double of the CPU's dequantized weights (dequantize_row) with the F32
// activations. Shapes: rows that are not a multiple of the 64-row tile, 1, 7, 33 and 40 tokens
// (one token, a partial tile, a full tile plus one, two partial tiles), rows of several blocks,
// padded strides; each epilogue (store, + bias, add into y, both). The padding of x holds NaN
// (a read would poison a result), unused bias buffers are empty (a read would fault), and the
// padding of y and the rows past n_rows keep a sentinel (no write outside the product).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

namespace metal_kernels {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/matmul.metal"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_kernels

#include "backend/cpu/quant.h"
#include "check.h"
#include "core/rng.h"
#include "random_rows.h"

using namespace alloy;
using namespace alloy::metal_emu;

namespace {

// Tolerance, derived (an error bound, not a measurement): against the exact sum of w x,
//  * the weight tile rounds each dequantized weight to half for the quantized types:
//    |w - half(w)| <= kHalfUnitRoundoff |w| + kHalfSubnormalHalfSpacing (F32, BF16: float
//    tiles, F16: already half, both exact);
//  * each product rounds to float once and the sum over n_cols products takes n_cols float
//    additions in any order (the GPU's order inside an 8x8 multiply is unspecified; the
//    accumulators then add K step after K step): at most (n_cols + 1) * 2^-24 of sum |w x|;
//  * the epilogue adds one rounding per addition (bias, old y) of the value at that point.
// Measured worst error against this bound over every case below (printed per type by the
// test): at most 0.10 of it for F32 / F16 / BF16 and 0.71 for the quantized types, whose half
// rounding is the bound's largest term and is reached by rows whose largest product dominates.
constexpr double kFloatUnitRoundoff = 5.9604644775390625e-8;  // 2^-24
constexpr double kHalfUnitRoundoff = 1.0 / 2048;               // 2^-11
constexpr double kHalfSubnormalHalfSpacing = 0x1p-25;          // half of half's smallest subnormal

constexpr float kYSentinel = 12345.0f;

using MmRunner = DispatchReport (*)(const kargs::MatMul&, uint32_t, uint32_t, LaneOrder, const Buffer&, const Buffer&,
                                    const Buffer&, const Buffer&);

template <class Q, class TW>
DispatchReport run_mm(const kargs::MatMul& args, uint32_t groups_x, uint32_t groups_y, LaneOrder order, const Buffer& w,
                      const Buffer& x, const Buffer& bias, const Buffer& y) {
  DispatchConfig c;
  c.threadgroups = metal::uint3(groups_x, groups_y, 1u);
  c.threads_per_threadgroup = metal::uint3(32u * kargs::kMatMulSimdgroups, 1u, 1u);
  c.threadgroup_memory = {kargs::kMatMulRows * kargs::kMatMulK * sizeof(TW), kargs::kMatMulTokens * kargs::kMatMulK * sizeof(float),
                          kargs::kMatMulTokens * kargs::kMatMulRows * sizeof(float)};
  c.order = order;
  const auto wv = w.view<const metal::uchar>();
  const auto xv = x.view<const float>(), bv = bias.view<const float>();
  const auto yv = y.view<float>();
  return dispatch(c, [&](const Lane& l) {
    metal_kernels::kernel_mm<Q, TW>(args, wv, xv, bv, yv, l.threadgroup_memory<TW>(0), l.threadgroup_memory<float>(1),
                                    l.threadgroup_memory<float>(2), l.threadgroup_position_in_grid,
                                    l.thread_index_in_threadgroup, l.simdgroup_index_in_threadgroup);
  });
}

struct TypeCase {
  GgmlType type;
  MmRunner run;
  bool half_rounding;  // the weight tile rounds the dequantized weights to half
  int n_cols;          // several blocks of the type
};

template <class Q, class TW>
TypeCase type_case(GgmlType type, bool half_rounding, int n_cols) {
  return {type, &run_mm<Q, TW>, half_rounding, n_cols};
}

struct Shape {
  int n_rows, n_tokens, flags, x_pad, y_pad;
};

// The shapes every type runs: rows past a tile (40 < 64, 72 = 64 + 8, 24), tokens 1, 7, 33,
// 40, each epilogue once, padded and unpadded strides.
const Shape kShapes[] = {
    {24, 1, 0, 0, 0},
    {40, 7, kargs::kMatMulBias, 3, 5},
    {40, 33, kargs::kMatMulAdd, 0, 2},
    {72, 40, kargs::kMatMulBias | kargs::kMatMulAdd, 1, 0},
};

uint32_t groups(int n, int per_group) { return static_cast<uint32_t>((n + per_group - 1) / per_group); }

bool clean(const DispatchReport& report) {
  if (!report.ok()) std::printf("dispatch errors:\n%s", report.summary().c_str());
  return report.ok();
}

struct Output {
  std::vector<float> y, y0;
};

// One shape of one type: returns the largest error / bound, checks every element.
double check_shape(const TypeCase& tc, const Shape& s, Rng& rng, LaneOrder order, Output* output = nullptr) {
  const int n_cols = tc.n_cols;
  const size_t row_bytes = *ggml_row_bytes(tc.type, static_cast<uint64_t>(n_cols));
  std::vector<uint8_t> weights;
  std::vector<float> w(static_cast<size_t>(n_cols) * s.n_rows);
  for (int r = 0; r < s.n_rows; ++r) {
    const std::vector<uint8_t> row = alloy_test::random_weight_row(tc.type, n_cols, rng);
    weights.insert(weights.end(), row.begin(), row.end());
    cpu::dequantize_row(tc.type, row.data(), &w[static_cast<size_t>(r) * n_cols], n_cols);
  }
  const int x_stride = n_cols + s.x_pad, y_stride = s.n_rows + s.y_pad;
  std::vector<float> x(static_cast<size_t>(s.n_tokens) * x_stride, std::nanf(""));
  for (int t = 0; t < s.n_tokens; ++t) {
    const std::vector<float> xt = alloy_test::random_activations(rng, n_cols);
    std::copy(xt.begin(), xt.end(), x.begin() + static_cast<ptrdiff_t>(t) * x_stride);
  }
  const bool has_bias = (s.flags & kargs::kMatMulBias) != 0, add = (s.flags & kargs::kMatMulAdd) != 0;
  std::vector<float> bias;
  if (has_bias) {
    for (int r = 0; r < s.n_rows; ++r) bias.push_back(0.5f * rng.normal());
  }
  std::vector<float> y0(static_cast<size_t>(s.n_tokens) * y_stride, kYSentinel);
  if (add) {
    for (int t = 0; t < s.n_tokens; ++t) {
      for (int r = 0; r < s.n_rows; ++r) y0[static_cast<size_t>(t) * y_stride + r] = 2.0f * rng.normal();
    }
  }

  kargs::MatMul args{};
  args.n_cols = n_cols;
  args.n_rows = s.n_rows;
  args.n_tokens = s.n_tokens;
  args.flags = s.flags;
  args.row_bytes = row_bytes;
  args.x_stride = static_cast<uint64_t>(x_stride);
  args.y_stride = static_cast<uint64_t>(y_stride);
  const Buffer wb = Buffer::of("weights", weights), xb = Buffer::of("x", x), bb = Buffer::of("bias", bias);
  const Buffer yb = Buffer::of("y", y0);
  CHECK(clean(tc.run(args, groups(s.n_rows, kargs::kMatMulRows), groups(s.n_tokens, kargs::kMatMulTokens), order, wb, xb, bb, yb)));
  const std::vector<float> got = yb.to_vector<float>();
  if (output != nullptr) *output = Output{got, y0};

  const double e = kFloatUnitRoundoff;
  double worst = 0;
  bool within = true, sentinel_kept = true;
  for (int t = 0; t < s.n_tokens; ++t) {
    const float* xt = &x[static_cast<size_t>(t) * x_stride];
    for (int r = 0; r < y_stride; ++r) {
      const size_t k = static_cast<size_t>(t) * y_stride + r;
      if (r >= s.n_rows) {
        sentinel_kept &= got[k] == kYSentinel;
        continue;
      }
      const float* wr = &w[static_cast<size_t>(r) * n_cols];
      double dot = 0, magnitude = 0, x_magnitude = 0;
      for (int i = 0; i < n_cols; ++i) {
        dot += static_cast<double>(wr[i]) * xt[i];
        magnitude += std::fabs(static_cast<double>(wr[i]) * xt[i]);
        x_magnitude += std::fabs(static_cast<double>(xt[i]));
      }
      double bound = (n_cols + 1) * e * magnitude;
      if (tc.half_rounding) bound += kHalfUnitRoundoff * magnitude + kHalfSubnormalHalfSpacing * x_magnitude;
      double value = dot;
      if (has_bias) {
        value += bias[static_cast<size_t>(r)];
        bound += e * (std::fabs(value) + bound);
      }
      if (add) {
        value += y0[k];
        bound += e * (std::fabs(value) + bound);
      }
      const double err = std::fabs(static_cast<double>(got[k]) - value);
      within &= err <= bound;
      if (bound > 0) worst = std::max(worst, err / bound);
    }
  }
  CHECK(within);
  CHECK(sentinel_kept);
  if (!within) {
    std::printf("  %s: %d rows x %d tokens, flags %d: outside the bound\n", std::string(ggml_type_name(tc.type)).c_str(),
                s.n_rows, s.n_tokens, s.flags);
  }
  return worst;
}

std::vector<TypeCase> all_types() {
  namespace k = metal_kernels;
  using metal::half;
  return {type_case<k::DequantF32, float>(GgmlType::F32, false, 100),
          type_case<k::DequantF16, half>(GgmlType::F16, false, 75),
          type_case<k::DequantBF16, float>(GgmlType::BF16, false, 70),
          type_case<k::DequantQ4_0, half>(GgmlType::Q4_0, true, 96),
          type_case<k::DequantQ4_1, half>(GgmlType::Q4_1, true, 96),
          type_case<k::DequantQ5_0, half>(GgmlType::Q5_0, true, 64),
          type_case<k::DequantQ5_1, half>(GgmlType::Q5_1, true, 64),
          type_case<k::DequantQ8_0, half>(GgmlType::Q8_0, true, 96),
          type_case<k::DequantQ2_K, half>(GgmlType::Q2_K, true, 256),
          type_case<k::DequantQ3_K, half>(GgmlType::Q3_K, true, 256),
          type_case<k::DequantQ4_K, half>(GgmlType::Q4_K, true, 512),
          type_case<k::DequantQ5_K, half>(GgmlType::Q5_K, true, 256),
          type_case<k::DequantQ6_K, half>(GgmlType::Q6_K, true, 256)};
}

}  // namespace

TEST_CASE("kernel_mm of every weight type matches the exact product of the dequantized weights, every shape and epilogue") {
  Rng rng(20261130);
  for (const TypeCase& tc : all_types()) {
    double worst = 0;
    for (const Shape& s : kShapes) worst = std::max(worst, check_shape(tc, s, rng, LaneOrder::forward));
    std::printf("kernel_mm_%-5s n_cols %3d: worst |error| / bound %.3g\n", std::string(ggml_type_name(tc.type)).c_str(),
                tc.n_cols, worst);
  }
}

TEST_CASE("kernel_mm gives the same bits whichever lane runs first (no missing barrier)") {
  for (const TypeCase& tc : all_types()) {
    if (tc.type != GgmlType::Q4_K && tc.type != GgmlType::F32) continue;
    const Shape s{72, 33, kargs::kMatMulBias, 0, 1};
    Output forward, reverse;
    Rng a(7), b(7);
    check_shape(tc, s, a, LaneOrder::forward, &forward);
    check_shape(tc, s, b, LaneOrder::reverse, &reverse);
    CHECK(forward.y == reverse.y);
  }
}

TEST_CASE("kernel_mm reports a weight buffer shorter than its rows") {
  const TypeCase tc = all_types()[7];  // Q8_0
  const size_t row_bytes = *ggml_row_bytes(tc.type, static_cast<uint64_t>(tc.n_cols));
  kargs::MatMul args{};
  args.n_cols = tc.n_cols;
  args.n_rows = 3;
  args.n_tokens = 2;
  args.row_bytes = row_bytes;
  args.x_stride = static_cast<uint64_t>(tc.n_cols);
  args.y_stride = 3;
  const Buffer w("weights", 3 * row_bytes - 1), x("x", 2 * tc.n_cols * sizeof(float)), bias("bias", 0), y("y", 6 * sizeof(float));
  const DispatchReport report = tc.run(args, 1, 1, LaneOrder::forward, w, x, bias, y);
  CHECK(!report.ok());
  CHECK(report.mentions("out-of-bounds access to device memory 'weights'"));
}
