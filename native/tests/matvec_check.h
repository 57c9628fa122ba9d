// The checks of the decode matrix-vector kernels (backend/metal/kernels/matvec_*.metal on
// matvec_template.h), shared by test_metal_matvec.cpp (float and 32-element block types) and
// test_metal_matvec_k_quants.cpp: every variant of a type (input x or RMSNorm-ed; output
// store, add, SwiGLU or Q/K/V into three outputs; with and without bias), through the emulator
// against the CPU backend: the exact (double) dot products of the CPU's dequantized weights
// (dequantize_row) with the CPU's input row (rms_norm_row for the norm variants), and where its
// rounding is comparable, the CPU backend's own result with quantized activations (vec_dot).
// Shapes: odd and even row lengths, row counts that are not multiples of a threadgroup's rows,
// several tokens, padded strides; both lane orders, which must give identical bits. Unused
// buffers are bound empty (a read would fault), and the stride padding of x holds NaN (a read
// would poison the result) and of y a sentinel.
//
// Test-only, one test executable per includer, which compiles the kernel sources it runs in
// namespace metal_kernels (as below, before or after this header) and calls
// matvec_check::check_type with matvec_check::type_case<policy>.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

// The template and the F32 policy, which names the kernels' function types below.
namespace metal_kernels {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/dequant_float.h"
#include "backend/metal/kernels/matvec_template.h"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_kernels

#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/quant.h"
#include "check.h"
#include "core/rng.h"
#include "random_rows.h"

namespace matvec_check {

using namespace alloy;
using namespace alloy::metal_emu;


constexpr double kFloatEpsilon = 5.9604644775390625e-8;  // 2^-24, float's unit roundoff
constexpr float kNormEps = 1e-6f;

// The kernel's dot product: each product passes through at most 1 (w * x) + kChunk - 1 (the
// lane's chunk sum) + steps (the lane's sum over its chunks) + 31 (simd_sum, in any order)
// float roundings, so |error| <= kFloatEpsilon * roundings * sum |w x|. Its weights are the
// CPU's dequantized ones bit for bit (the same float operations in the same order).
int dot_roundings(int n_cols, int chunk) {
  const int n_chunks = (n_cols + chunk - 1) / chunk;
  return 1 + (chunk - 1) + (n_chunks + 31) / 32 + 31;
}

// Norm variants: the kernel's 1 / sqrt(mean(x^2) + eps) has a float sum of squares (1 + the
// n / threads strided adds + 31 of simd_sum + the SIMD groups' partials), the mean's division
// and the eps add: the square root halves that relative error and adds its own rounding and
// the division's; (x * scale) * weight adds 2. The CPU's rms_norm_row (double sum) carries
// kCpuNormRoundings: the square, mean, eps add (halved: 1.5), sqrt, division, two products.
constexpr double kCpuNormRoundings = 5.5;
double norm_relative_roundings(int n_cols) {
  const int threads = 32 * kargs::kMatVecSimdgroups;
  const double sum = 1 + (n_cols + threads - 1) / threads + 31 + kargs::kMatVecSimdgroups;
  return 0.5 * (sum + 2) + 2 + 2 + kCpuNormRoundings;
}

// SwiGLU epilogue: |d silu / dg| <= kSiluSlope (its maximum is 1.0998); silu(g) * u as
// g / (1 + exp(-g)) * u with an exp of at most 1 ulp has kSiluRoundings relative roundings.
constexpr double kSiluSlope = 1.1;
constexpr double kSiluRoundings = 4;

// The CPU's activation quantization (quantize_activations.h), per element, in units of the
// block's amax / 127: Q8_0 moves an activation by at most half a quant step plus the f16
// rounding of the scale (0.5 + 127 * 2^-11); Q8_K by half a step plus the float roundings of
// iscale, 1 / iscale and x * iscale (0.5 + 381 * 2^-24, rounded up). F16 activations move by
// half an f16 ulp: 2^-11 |x| (plus 2^-25 below f16's normal range).
constexpr double kQ8_0ActivationErrorInScales = 0.5625;
constexpr double kQ8_KActivationErrorInScales = 0.5001;
constexpr double kF16RelRounding = 1.0 / 2048, kF16AbsRounding = 1.0 / 33554432;
// BF16 activations (round to nearest even, 8 significant bits) move by half a bf16 ulp:
// 2^-8 |x| (plus half the spacing of bf16's subnormals, 2^-134).
constexpr double kBF16RelRounding = 1.0 / 256, kBF16AbsRounding = 0x1p-134;
// The CPU backend's float arithmetic after its exact integer dot products: per block the
// scales' product, the int-to-float conversion and the accumulation over blocks (or elements
// for F32 / F16), in any order: at most terms + kCpuExtraRoundings roundings of sum |w x|.
constexpr int kCpuExtraRoundings = 4;

using metal_kernels::kMvInNorm;
using metal_kernels::kMvInX;
using metal_kernels::kMvOutAdd;
using metal_kernels::kMvOutStore;
using metal_kernels::kMvOutSwiglu;
using KernelFn = decltype(&metal_kernels::kernel_mv<metal_kernels::DequantF32, kMvInX, kMvOutStore>);
using QkvFn = decltype(&metal_kernels::kernel_mv_qkv<metal_kernels::DequantF32, kMvInX>);

struct TypeCase {
  GgmlType type;
  int chunk, rows;
  KernelFn kernels[2][3];  // [input][output]
  QkvFn qkv[2];            // [input]
  // The CPU's vec_dot is compared when its float rounding is relative to sum |w x|: not for
  // the types with a min term (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K), whose CPU dot adds dmin * (sum
  // of the activations) separately and rounds relative to that term.
  bool compare_cpu;
};

template <class Q>
TypeCase type_case(GgmlType type, bool compare_cpu) {
  using metal_kernels::kernel_mv;
  using metal_kernels::kernel_mv_qkv;
  return {type, Q::kChunk, Q::kRows,
          {{&kernel_mv<Q, kMvInX, kMvOutStore>, &kernel_mv<Q, kMvInX, kMvOutAdd>, &kernel_mv<Q, kMvInX, kMvOutSwiglu>},
           {&kernel_mv<Q, kMvInNorm, kMvOutStore>, &kernel_mv<Q, kMvInNorm, kMvOutAdd>,
            &kernel_mv<Q, kMvInNorm, kMvOutSwiglu>}},
          {&kernel_mv_qkv<Q, kMvInX>, &kernel_mv_qkv<Q, kMvInNorm>},
          compare_cpu};
}

struct Shape {
  int n_cols, n_rows, n_tokens, x_pad, y_pad, has_bias;
};


// One output's reference: the value and the bound on the kernel's distance from it.
struct Ref {
  double value, bound;
};

// The dot product of one weight row with one input row, and the bounds of the kernel's error
// against the exact value and against the CPU backend's value.
struct DotRef {
  Ref exact, cpu;
};

double activation_error(cpu::ActType act, const float* x, int n, std::vector<double>& err) {
  err.assign(static_cast<size_t>(n), 0.0);
  const int block = act == cpu::ActType::q8_0 || act == cpu::ActType::q8_1 ? 32 : act == cpu::ActType::q8_k ? 256 : 1;
  for (int b = 0; b < n; b += block) {
    double amax = 0;
    for (int i = b; i < b + block; ++i) amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
    for (int i = b; i < b + block; ++i) {
      if (act == cpu::ActType::q8_0) err[i] = kQ8_0ActivationErrorInScales * amax / 127;
      if (act == cpu::ActType::q8_k) err[i] = kQ8_KActivationErrorInScales * amax / 127;
      if (act == cpu::ActType::f16) err[i] = kF16RelRounding * std::fabs(x[i]) + kF16AbsRounding;
      if (act == cpu::ActType::bf16) err[i] = kBF16RelRounding * std::fabs(x[i]) + kBF16AbsRounding;
    }
  }
  return block;
}

DotRef dot_ref(const TypeCase& tc, const uint8_t* row, const float* in, int n, bool norm) {
  std::vector<float> w(static_cast<size_t>(n));
  cpu::dequantize_row(tc.type, row, w.data(), n);
  double exact = 0, magnitude = 0;
  for (int i = 0; i < n; ++i) {
    exact += static_cast<double>(w[i]) * in[i];
    magnitude += std::fabs(static_cast<double>(w[i]) * in[i]);
  }
  const double float_bound =
      kFloatEpsilon * (dot_roundings(n, tc.chunk) + (norm ? norm_relative_roundings(n) : 0.0)) * magnitude;
  DotRef r{{exact, float_bound}, {0, 0}};
  if (tc.compare_cpu) {
    const cpu::ActType act = cpu::activation_type_for(tc.type);
    std::vector<double> err;
    const double block = activation_error(act, in, n, err);
    double act_bound = 0;
    for (int i = 0; i < n; ++i) act_bound += std::fabs(w[i]) * err[i];
    const std::vector<uint8_t> q = alloy_test::quantized(act, std::vector<float>(in, in + n));
    const double cpu_value = cpu::vec_dot(tc.type, row, q.data(), n);
    const double cpu_float = kFloatEpsilon * (n / block + kCpuExtraRoundings) * (magnitude + act_bound);
    r.cpu = {cpu_value, float_bound + act_bound + cpu_float};
  }
  return r;
}

// The epilogue in double from dot products with error bounds, adding each float rounding of
// the kernel's epilogue to the bound.
Ref epilogue(int out, const Ref& dot, const Ref& up, double y0, bool has_bias, double bias, double bias_up) {
  const double e = kFloatEpsilon;
  if (out == kMvOutSwiglu) {
    const double g = dot.value + (has_bias ? bias : 0), u = up.value + (has_bias ? bias_up : 0);
    const double eg = dot.bound + (has_bias ? e * (std::fabs(g) + dot.bound) : 0);
    const double eu = up.bound + (has_bias ? e * (std::fabs(u) + up.bound) : 0);
    const double silu = g / (1 + std::exp(-g));
    const double bound = std::fabs(silu) * eu + kSiluSlope * eg * (std::fabs(u) + eu) +
                         e * kSiluRoundings * (std::fabs(silu) + kSiluSlope * eg) * (std::fabs(u) + eu);
    return {silu * u, bound};
  }
  const double v = dot.value + (has_bias ? bias : 0);
  double bound = dot.bound + (has_bias ? e * (std::fabs(v) + dot.bound) : 0);
  if (out == kMvOutAdd) return {y0 + v, bound + e * (std::fabs(y0 + v) + bound)};
  return {v, bound};
}

int groups_for(const TypeCase& tc, int n_rows) {
  const int per_group = tc.rows * kargs::kMatVecSimdgroups;
  return (n_rows + per_group - 1) / per_group;
}

DispatchConfig matvec_grid(int groups, int n_tokens, LaneOrder order) {
  DispatchConfig c;
  c.threadgroups = metal::uint3(static_cast<uint32_t>(groups), static_cast<uint32_t>(n_tokens), 1u);
  c.threads_per_threadgroup = metal::uint3(32u * kargs::kMatVecSimdgroups, 1u, 1u);
  c.threadgroup_memory = {kargs::kMatVecPartials * sizeof(float)};
  c.order = order;
  return c;
}

DispatchReport run(const TypeCase& tc, KernelFn fn, const kargs::MatVecFused& args, int n_tokens, LaneOrder order,
                   const Buffer& w, const Buffer& w_up, const Buffer& x, const Buffer& norm_w, const Buffer& bias,
                   const Buffer& y) {
  const auto wv = w.view<const metal::uchar>(), wuv = w_up.view<const metal::uchar>();
  const auto xv = x.view<const float>(), nv = norm_w.view<const float>(), bv = bias.view<const float>();
  const auto yv = y.view<float>();
  return dispatch(matvec_grid(groups_for(tc, args.shape.n_rows), n_tokens, order), [&](const Lane& l) {
    fn(args, wv, wuv, xv, nv, bv, yv, l.threadgroup_memory<float>(0), l.threadgroup_position_in_grid,
       l.thread_index_in_threadgroup, l.simdgroup_index_in_threadgroup, l.thread_index_in_simdgroup);
  });
}

// Q, K and V: weights, biases and outputs in that order.
DispatchReport run_qkv(const TypeCase& tc, QkvFn fn, const kargs::MatVecQkv& args, int n_tokens, LaneOrder order,
                       const Buffer* const (&w)[3], const Buffer& x, const Buffer& norm_w, const Buffer* const (&bias)[3],
                       const Buffer* const (&y)[3]) {
  const auto wq = w[0]->view<const metal::uchar>(), wk = w[1]->view<const metal::uchar>(), wv = w[2]->view<const metal::uchar>();
  const auto xv = x.view<const float>(), nv = norm_w.view<const float>();
  const auto bq = bias[0]->view<const float>(), bk = bias[1]->view<const float>(), bv = bias[2]->view<const float>();
  const auto yq = y[0]->view<float>(), yk = y[1]->view<float>(), yv = y[2]->view<float>();
  const int groups = groups_for(tc, args.q.shape.n_rows) + 2 * groups_for(tc, args.n_kv_rows);
  return dispatch(matvec_grid(groups, n_tokens, order), [&](const Lane& l) {
    fn(args, wq, wk, xv, nv, bq, yq, wv, bk, bv, yk, yv, l.threadgroup_memory<float>(0), l.threadgroup_position_in_grid,
       l.thread_index_in_threadgroup, l.simdgroup_index_in_threadgroup, l.thread_index_in_simdgroup);
  });
}

bool clean(const DispatchReport& report) {
  if (!report.ok()) std::printf("dispatch errors:\n%s", report.summary().c_str());
  return report.ok();
}

std::vector<uint8_t> random_matrix(GgmlType type, int n_cols, int n_rows, Rng& rng) {
  std::vector<uint8_t> m;
  for (int r = 0; r < n_rows; ++r) {
    const std::vector<uint8_t> row = alloy_test::random_weight_row(type, n_cols, rng);
    m.insert(m.end(), row.begin(), row.end());
  }
  return m;
}

constexpr float kYSentinel = 12345.0f;
const char* const kInputNames[2] = {"x", "norm"};
const char* const kOutputNames[3] = {"store", "add", "swiglu"};

// The tokens' activation rows (x_stride floats each, NaN in the padding) and the norm weight.
struct Input {
  int x_stride;
  std::vector<float> x, norm_w;
};

Input random_input(const Shape& s, Rng& rng) {
  Input input{s.n_cols + s.x_pad, {}, std::vector<float>(static_cast<size_t>(s.n_cols))};
  input.x.assign(static_cast<size_t>(s.n_tokens) * input.x_stride, std::nanf(""));
  for (int t = 0; t < s.n_tokens; ++t) {
    const std::vector<float> xt = alloy_test::random_activations(rng, s.n_cols);
    std::copy(xt.begin(), xt.end(), input.x.begin() + static_cast<ptrdiff_t>(t) * input.x_stride);
  }
  for (float& v : input.norm_w) v = 1.0f + 0.5f * rng.normal();
  return input;
}

// The references of one matrix's n_rows rows for every token, [t * n_rows + r]: the dot
// products with the token's input row (rms_norm_row-ed for the norm input).
std::vector<DotRef> matrix_refs(const TypeCase& tc, const std::vector<uint8_t>& weights, int n_rows, const Shape& s,
                                const Input& input, int in) {
  const size_t row_bytes = *ggml_row_bytes(tc.type, static_cast<uint64_t>(s.n_cols));
  std::vector<DotRef> refs;
  for (int t = 0; t < s.n_tokens; ++t) {
    const auto first = input.x.begin() + static_cast<ptrdiff_t>(t) * input.x_stride;
    std::vector<float> xin(first, first + s.n_cols);
    if (in == kMvInNorm) cpu::rms_norm_row(xin.data(), input.norm_w.data(), s.n_cols, kNormEps, xin.data());
    for (int r = 0; r < n_rows; ++r) {
      refs.push_back(dot_ref(tc, &weights[static_cast<size_t>(r) * row_bytes], xin.data(), s.n_cols, in == kMvInNorm));
    }
  }
  return refs;
}

// One output of a kernel (n_tokens rows of y_stride floats, the first n_rows computed; y0
// before the dispatch) against the references of its matrix and, for SwiGLU, of the up
// matrix; bias: nullptr without bias (SwiGLU: the gate's n_rows, then the up's). The padding
// must keep kYSentinel. worst as in check_shape.
void check_output(const TypeCase& tc, int out, const std::string& what, const std::vector<float>& got,
                  const std::vector<float>& y0, int n_tokens, int n_rows, int y_stride, const std::vector<DotRef>& refs,
                  const std::vector<DotRef>& up_refs, const float* bias, double (&worst)[2]) {
  bool within[2] = {true, true}, padding_kept = true;
  for (int t = 0; t < n_tokens; ++t) {
    for (int r = 0; r < y_stride; ++r) {
      const size_t k = static_cast<size_t>(t) * y_stride + r;
      if (r >= n_rows) {
        padding_kept &= got[k] == kYSentinel;
        continue;
      }
      const DotRef& g = refs[static_cast<size_t>(t) * n_rows + r];
      const DotRef& u = up_refs[static_cast<size_t>(t) * n_rows + r];
      const double b = bias != nullptr ? bias[r] : 0, b_up = bias != nullptr && out == kMvOutSwiglu ? bias[n_rows + r] : 0;
      for (int kind = 0; kind < (tc.compare_cpu ? 2 : 1); ++kind) {
        const Ref ref = epilogue(out, kind == 0 ? g.exact : g.cpu, kind == 0 ? u.exact : u.cpu, y0[k], bias != nullptr, b, b_up);
        const double err = std::fabs(got[k] - ref.value);
        within[kind] &= err <= ref.bound;
        if (ref.bound > 0) worst[kind] = std::max(worst[kind], err / ref.bound);
      }
    }
  }
  CHECK(padding_kept);
  CHECK(within[0]);
  CHECK(within[1]);
  if (!within[0] || !within[1]) {
    std::printf("  %s %s on %d rows: outside the bound\n", std::string(ggml_type_name(tc.type)).c_str(), what.c_str(), n_rows);
  }
}

// Every variant of one type on one shape but Q/K/V; worst[0] / worst[1]: the largest error /
// bound against the exact and the CPU references.
void check_shape(const TypeCase& tc, const Shape& s, Rng& rng, double (&worst)[2]) {
  const size_t row_bytes = *ggml_row_bytes(tc.type, static_cast<uint64_t>(s.n_cols));
  const int y_stride = s.n_rows + s.y_pad;
  const std::vector<uint8_t> gate = random_matrix(tc.type, s.n_cols, s.n_rows, rng);
  const std::vector<uint8_t> up = random_matrix(tc.type, s.n_cols, s.n_rows, rng);
  const Input input = random_input(s, rng);
  std::vector<float> bias(2 * static_cast<size_t>(s.n_rows));
  for (float& v : bias) v = 0.5f * rng.normal();
  std::vector<float> y0(static_cast<size_t>(s.n_tokens) * y_stride, kYSentinel);
  for (int t = 0; t < s.n_tokens; ++t) {
    for (int r = 0; r < s.n_rows; ++r) y0[static_cast<size_t>(t) * y_stride + r] = 2.0f * rng.normal();
  }

  const kargs::MatVecFused args{
      {s.n_cols, s.n_rows, row_bytes, static_cast<uint64_t>(input.x_stride), static_cast<uint64_t>(y_stride)}, kNormEps, s.has_bias};
  const Buffer empty("unused", 0);
  const Buffer gate_b = Buffer::of("weights", gate), up_b = Buffer::of("weights_up", up), x_b = Buffer::of("x", input.x);
  const Buffer norm_b = Buffer::of("norm_weight", input.norm_w), bias_b = Buffer::of("bias", bias);
  for (int in = 0; in < 2; ++in) {
    const std::vector<DotRef> gate_refs = matrix_refs(tc, gate, s.n_rows, s, input, in);
    const std::vector<DotRef> up_refs = matrix_refs(tc, up, s.n_rows, s, input, in);
    for (int out = 0; out < 3; ++out) {
      std::vector<float> results[2];
      for (LaneOrder order : {LaneOrder::forward, LaneOrder::reverse}) {
        const Buffer y_b = Buffer::of("y", y0);
        const bool ran = clean(run(tc, tc.kernels[in][out], args, s.n_tokens, order, gate_b, out == kMvOutSwiglu ? up_b : empty,
                                   x_b, in == kMvInNorm ? norm_b : empty, s.has_bias ? bias_b : empty, y_b));
        CHECK(ran);
        results[order == LaneOrder::forward ? 0 : 1] = y_b.to_vector<float>();
      }
      CHECK(std::memcmp(results[0].data(), results[1].data(), results[0].size() * sizeof(float)) == 0);
      const std::string what = std::string(kInputNames[in]) + "_" + kOutputNames[out] + " n_cols " + std::to_string(s.n_cols);
      check_output(tc, out, what, results[0], y0, s.n_tokens, s.n_rows, y_stride, gate_refs, up_refs,
                   s.has_bias ? bias.data() : nullptr, worst);
    }
  }
}

// The Q/K/V variants of one type on one shape: Q with the shape's rows, K and V with
// n_rows / 2 + 1 (also not multiples of a threadgroup's rows) and output strides of their own;
// Q's and K's bias as the shape says, V's the opposite. Each output is checked like a store.
void check_qkv(const TypeCase& tc, const Shape& s, Rng& rng, double (&worst)[2]) {
  const size_t row_bytes = *ggml_row_bytes(tc.type, static_cast<uint64_t>(s.n_cols));
  const int n_kv = s.n_rows / 2 + 1;
  const int n_rows[3] = {s.n_rows, n_kv, n_kv};
  const int y_strides[3] = {s.n_rows + s.y_pad, n_kv + s.y_pad + 1, n_kv + s.y_pad + 1};
  const int has_bias[3] = {s.has_bias, s.has_bias, 1 - s.has_bias};
  const char* const names[3] = {"q", "k", "v"};
  std::vector<uint8_t> w[3];
  for (int m = 0; m < 3; ++m) w[m] = random_matrix(tc.type, s.n_cols, n_rows[m], rng);
  const Input input = random_input(s, rng);
  std::vector<float> bias[3], y0[3];
  for (int m = 0; m < 3; ++m) {
    for (int r = 0; r < n_rows[m]; ++r) bias[m].push_back(0.5f * rng.normal());
    y0[m].assign(static_cast<size_t>(s.n_tokens) * y_strides[m], kYSentinel);
  }

  const kargs::MatVecQkv args{{{s.n_cols, n_rows[0], row_bytes, static_cast<uint64_t>(input.x_stride),
                                static_cast<uint64_t>(y_strides[0])},
                               kNormEps, has_bias[0]},
                              n_kv, has_bias[1], has_bias[2], 0, static_cast<uint64_t>(y_strides[1])};
  const Buffer empty("unused", 0);
  const Buffer x_b = Buffer::of("x", input.x), norm_b = Buffer::of("norm_weight", input.norm_w);
  const Buffer w_b[3] = {Buffer::of("weights_q", w[0]), Buffer::of("weights_k", w[1]), Buffer::of("weights_v", w[2])};
  const Buffer bias_b[3] = {Buffer::of("bias_q", bias[0]), Buffer::of("bias_k", bias[1]), Buffer::of("bias_v", bias[2])};
  const Buffer* const weights[3] = {&w_b[0], &w_b[1], &w_b[2]};
  const Buffer* biases[3];
  for (int m = 0; m < 3; ++m) biases[m] = has_bias[m] != 0 ? &bias_b[m] : &empty;
  for (int in = 0; in < 2; ++in) {
    std::vector<DotRef> refs[3];
    for (int m = 0; m < 3; ++m) refs[m] = matrix_refs(tc, w[m], n_rows[m], s, input, in);
    std::vector<float> results[2][3];
    for (LaneOrder order : {LaneOrder::forward, LaneOrder::reverse}) {
      const Buffer y_b[3] = {Buffer::of("y_q", y0[0]), Buffer::of("y_k", y0[1]), Buffer::of("y_v", y0[2])};
      const Buffer* const outputs[3] = {&y_b[0], &y_b[1], &y_b[2]};
      CHECK(clean(run_qkv(tc, tc.qkv[in], args, s.n_tokens, order, weights, x_b, in == kMvInNorm ? norm_b : empty, biases, outputs)));
      for (int m = 0; m < 3; ++m) results[order == LaneOrder::forward ? 0 : 1][m] = y_b[m].to_vector<float>();
    }
    for (int m = 0; m < 3; ++m) {
      CHECK(std::memcmp(results[0][m].data(), results[1][m].data(), results[0][m].size() * sizeof(float)) == 0);
      const std::string what = std::string(kInputNames[in]) + "_qkv " + names[m] + " n_cols " + std::to_string(s.n_cols);
      check_output(tc, kMvOutStore, what, results[0][m], y0[m], s.n_tokens, n_rows[m], y_strides[m], refs[m], refs[m],
                   has_bias[m] != 0 ? bias[m].data() : nullptr, worst);
    }
  }
}

// The Q/K/V variants draw from a generator of their own, so the other variants see the same
// data whether or not they run; their worst values are printed apart.
void check_type(const TypeCase& tc, const Shape* shapes, size_t n_shapes, uint64_t seed) {
  Rng rng(seed), qkv_rng(seed + 1000);
  double worst[2] = {0, 0}, worst_qkv[2] = {0, 0};
  for (size_t i = 0; i < n_shapes; ++i) {
    check_shape(tc, shapes[i], rng, worst);
    check_qkv(tc, shapes[i], qkv_rng, worst_qkv);
  }
  std::printf("matvec %-5s: worst error / bound: %.3g (qkv %.3g) against the exact dot products",
              std::string(ggml_type_name(tc.type)).c_str(), worst[0], worst_qkv[0]);
  if (tc.compare_cpu) std::printf(", %.3g (qkv %.3g) against the CPU backend", worst[1], worst_qkv[1]);
  std::printf("\n");
}

}  // namespace matvec_check
