// The attention kernels (backend/metal/kernels/attention.metal: decode and prefill), compiled
// as C++ and run by the emulator, against CpuBackend::attention and against an exact (double)
// evaluation of the same inputs, each within a bound derived from the float error of the orders
// involved (attention_bound below). Shapes: head_dim 64 and 32, n_head / n_head_kv 14/2, 4/4
// and 8/2, positions from 1 to about 300 and one long context (2000 positions); both lane
// orders, which must also give the same bits (a missing barrier would show there). The GPU's
// cache holds NaN past the last position written, so a read beyond the causal window shows.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

namespace metal_attention {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/attention.metal"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_attention

#include "backend/cpu/cpu_backend.h"
#include "check.h"
#include "core/half.h"
#include "core/rng.h"

using namespace alloy;
using namespace alloy::metal_emu;

namespace {

constexpr double kUnit = 5.9604644775390625e-8;  // 2^-24, float's unit roundoff
constexpr double kF16Unit = 4.8828125e-4;        // 2^-11, half's unit roundoff
constexpr double kF16SubnormalStep = 5.9604644775390625e-8;  // 2^-24, half's spacing below 2^-14
constexpr double kGpuExpUnits = 8;  // MSL precise::exp: 4 ulp = 8 units of 2^-24
constexpr double kCpuExpUnits = 3;  // ggml_vector_expf: 1.5 ulp

// First-order bounds on |result - exact| for one output value (head h, channel c of a token),
// relative to A = sum_j P_j |v_jc| (P the exact probabilities), from these float errors:
//  * each score: the K.Q dot product of head_dim exact products summed in some order
//    (head_dim units of scale * sum |q k|), the scale product and the subtraction of the
//    running maximum (2 |s| + max |s| units): D = max over positions; a probability then moves
//    by 2 D relatively;
//  * GPU: precise::exp (kGpuExpUnits), and per rescale by exp(m_old - m_new) - one per later
//    block, plus the merge - the exp, its argument's rounding (2 |max s| units) and the product;
//    the sums: a lane's 32 products and adds per block, one add per block and the merge's for
//    acc; simd_sum's 5 levels, one per block and the merge's for l; the division;
//  * CPU: ggml's expf, the 16-float group sums (4 units), 1 / sum and p * (1 / sum), the F16
//    rounding of p (2^-11 relative, or 2^-25 absolute below 2^-14, where halves are
//    subnormal: `subnormal_mass` is sum |v_jc| over those positions), and the F16 V product
//    over the padded positions (exact products, one unit per position).
// A weight error E moves the ratio sum w v / sum w by at most 2 E A. The GPU is held to
// gpu_relative_bound * A against the exact result, and to (gpu + cpu bounds) * A (+ the
// subnormal term) against CpuBackend::attention. Measured over the cases below (printed): at
// most 0.011 of the first (the bound assumes every rounding at its worst) and 0.64 of the
// second (dominated by the CPU's F16 probabilities).
struct BoundTerms {
  double score_error;  // D
  double max_abs_score;
  int n_padded, n_blocks_gpu, n_simdgroups;
};
double gpu_relative_bound(const BoundTerms& b) {
  const double rescale = kGpuExpUnits + 1 + 2 * b.max_abs_score;
  const double weight = 2 * b.score_error + kUnit * (kGpuExpUnits + (b.n_blocks_gpu + 1) * rescale);
  const double acc = 32 + b.n_blocks_gpu + b.n_simdgroups + 1, l = 5 + b.n_blocks_gpu + b.n_simdgroups + 1;
  return 2 * weight + kUnit * (acc + l + 1);
}
double cpu_relative_bound(const BoundTerms& b) {
  const double weight = 2 * b.score_error + kUnit * (kCpuExpUnits + 4 + 2);
  return 2 * weight + kF16Unit + kUnit * b.n_padded;
}

struct Case {
  int n_head, n_head_kv, head_dim, pos0, n_tokens;
  bool decode;
};

bool clean_report(const DispatchReport& report) {
  if (!report.ok()) std::printf("dispatch errors:\n%s", report.summary().c_str());
  return report.ok();
}

struct Worst {
  double vs_exact = 0, vs_cpu = 0;
};

DispatchReport run_attention(const Case& c, const kargs::Attention& args, LaneOrder order, const Buffer& q, const Buffer& k,
                             const Buffer& v, const Buffer& out) {
  DispatchConfig cfg;
  cfg.order = order;
  const auto qv = q.view<const float>();
  const auto kv = k.view<const metal::half>(), vv = v.view<const metal::half>();
  const auto ov = out.view<float>();
  const size_t block_bytes = kargs::kAttentionBlock * sizeof(float);
  if (c.decode) {
    cfg.threadgroups = metal::uint3(static_cast<uint32_t>(c.n_head), static_cast<uint32_t>(c.n_tokens), 1u);
    cfg.threads_per_threadgroup = metal::uint3(32u * kargs::kAttentionDecodeSimdgroups, 1u, 1u);
    cfg.threadgroup_memory = {kargs::kAttentionMaxHeadDim * sizeof(uint16_t),
                              kargs::kAttentionDecodeSimdgroups * block_bytes,
                              kargs::kAttentionDecodeSimdgroups * kargs::kAttentionMergeStride * sizeof(float)};
    return dispatch(cfg, [&](const Lane& l) {
      metal_attention::kernel_attention_decode_f16(
          args, qv, kv, vv, ov, l.threadgroup_memory<metal::half>(0), l.threadgroup_memory<float>(1),
          l.threadgroup_memory<float>(2), l.threadgroup_position_in_grid, l.thread_index_in_threadgroup,
          l.threads_per_threadgroup.x, l.simdgroup_index_in_threadgroup, l.simdgroups_per_threadgroup,
          l.thread_index_in_simdgroup);
    });
  }
  const int nsg = kargs::kAttentionPrefillSimdgroups;
  cfg.threadgroups = metal::uint3(static_cast<uint32_t>(c.n_head), static_cast<uint32_t>((c.n_tokens + nsg - 1) / nsg), 1u);
  cfg.threads_per_threadgroup = metal::uint3(32u * nsg, 1u, 1u);
  cfg.threadgroup_memory = {nsg * kargs::kAttentionMaxHeadDim * sizeof(uint16_t), nsg * block_bytes};
  return dispatch(cfg, [&](const Lane& l) {
    metal_attention::kernel_attention_prefill_f16(args, qv, kv, vv, ov, l.threadgroup_memory<metal::half>(0),
                                                  l.threadgroup_memory<float>(1), l.threadgroup_position_in_grid,
                                                  l.simdgroup_index_in_threadgroup, l.simdgroups_per_threadgroup,
                                                  l.thread_index_in_simdgroup);
  });
}

// Runs one case through both lane orders and checks it against the CPU backend and the exact
// evaluation; returns false if anything failed.
bool check_case(const Case& c, Rng& rng, Worst& worst) {
  const int hd = c.head_dim, n_embd_kv = c.n_head_kv * hd, row = c.n_head * hd;
  const int n_visible = c.pos0 + c.n_tokens;
  const int capacity = (n_visible + kKvCapacityAlignment - 1) / kKvCapacityAlignment * kKvCapacityAlignment;
  const int q_stride = row + 3, out_stride = row + 5;  // padded rows: strides are honoured
  std::vector<float> q(static_cast<size_t>(c.n_tokens) * q_stride);
  for (float& x : q) x = 1.5f * rng.normal();
  // The CPU's cache holds zeros past the last position (its invariant), the GPU's NaN.
  const size_t cache_elems = static_cast<size_t>(capacity) * n_embd_kv;
  std::vector<uint16_t> k_cpu(cache_elems, 0), v_cpu(cache_elems, 0);
  std::vector<uint16_t> k_gpu(cache_elems, 0x7E00), v_gpu(cache_elems, 0x7E00);
  for (int p = 0; p < n_visible; ++p) {
    for (int ch = 0; ch < n_embd_kv; ++ch) {
      const size_t ki = static_cast<size_t>(p) * n_embd_kv + ch, vi = static_cast<size_t>(ch) * capacity + p;
      k_cpu[ki] = k_gpu[ki] = float_to_f16_bits(rng.normal());
      v_cpu[vi] = v_gpu[vi] = float_to_f16_bits(rng.normal());
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

  std::vector<float> q_packed;
  for (int t = 0; t < c.n_tokens; ++t) {
    q_packed.insert(q_packed.end(), q.begin() + t * q_stride, q.begin() + t * q_stride + row);
  }
  std::vector<float> cpu_out(static_cast<size_t>(c.n_tokens) * row);
  cpu::CpuBackendConfig config;
  config.max_tokens = c.n_tokens;
  config.max_kv = capacity;
  config.max_heads = c.n_head;
  config.max_head_dim = hd;
  cpu::CpuBackend cpu_backend(config, {});
  const KvLayerView view{KvType::f16, reinterpret_cast<uint8_t*>(k_cpu.data()), reinterpret_cast<uint8_t*>(v_cpu.data()),
                         capacity, n_embd_kv};
  cpu_backend.attention(view, q_packed.data(), c.n_tokens, c.pos0, AttentionShape{c.n_head, c.n_head_kv, hd, scale},
                        cpu_out.data());

  const kargs::Attention args{c.n_tokens, c.n_head, c.n_head_kv, hd, c.pos0, capacity, scale, 0,
                              static_cast<uint64_t>(q_stride), static_cast<uint64_t>(out_stride),
                              static_cast<uint64_t>(n_embd_kv)};
  const Buffer qb = Buffer::of("q", q), kb = Buffer::of("k_cache", k_gpu), vb = Buffer::of("v_cache", v_gpu);
  const Buffer forward("out", static_cast<size_t>(c.n_tokens) * out_stride * sizeof(float));
  const Buffer reverse("out", forward.size());
  bool ok = true;
  ok &= clean_report(run_attention(c, args, LaneOrder::forward, qb, kb, vb, forward));
  ok &= clean_report(run_attention(c, args, LaneOrder::reverse, qb, kb, vb, reverse));
  const std::vector<float> got = forward.to_vector<float>();
  if (got != reverse.to_vector<float>()) {
    std::printf("the lane orders give different results\n");
    ok = false;
  }

  const int group = c.n_head / c.n_head_kv;
  std::vector<double> scores, probs;
  for (int t = 0; t < c.n_tokens; ++t) {
    const int n = c.pos0 + t + 1;
    for (int h = 0; h < c.n_head; ++h) {
      const int kvh = h / group;
      scores.assign(static_cast<size_t>(n), 0.0);
      std::vector<double> dot_magnitude(static_cast<size_t>(n), 0.0);
      for (int p = 0; p < n; ++p) {
        for (int d = 0; d < hd; ++d) {
          const double qd = f16_bits_to_float(float_to_f16_bits(q[static_cast<size_t>(t) * q_stride + h * hd + d]));
          const double kd = f16_bits_to_float(k_cpu[static_cast<size_t>(p) * n_embd_kv + kvh * hd + d]);
          scores[p] += qd * kd;
          dot_magnitude[p] += std::fabs(qd * kd);
        }
        scores[p] *= scale;
      }
      const double max_score = *std::max_element(scores.begin(), scores.end());
      double max_abs = 0, score_error = 0, sum = 0;
      for (int p = 0; p < n; ++p) max_abs = std::max(max_abs, std::fabs(scores[p]));
      for (int p = 0; p < n; ++p) {
        // |max| of any running maximum is at most max_abs.
        const double dp = kUnit * (hd * scale * dot_magnitude[p] + 2 * std::fabs(scores[p]) + max_abs);
        score_error = std::max(score_error, dp);
      }
      probs.assign(static_cast<size_t>(n), 0.0);
      for (int p = 0; p < n; ++p) sum += probs[p] = std::exp(scores[p] - max_score);
      for (double& pr : probs) pr /= sum;
      const int blocks = (n + kargs::kAttentionBlock - 1) / kargs::kAttentionBlock;
      const int nsg = c.decode ? kargs::kAttentionDecodeSimdgroups : 1;
      const int n_padded = (n + kKvCapacityAlignment - 1) / kKvCapacityAlignment * kKvCapacityAlignment;
      const BoundTerms terms{score_error, max_abs, n_padded, (blocks + nsg - 1) / nsg, nsg};
      const double gpu_rel = gpu_relative_bound(terms), cpu_rel = cpu_relative_bound(terms);
      for (int ch = 0; ch < hd; ++ch) {
        double exact = 0, mass = 0, subnormal_mass = 0;
        for (int p = 0; p < n; ++p) {
          const double vv = f16_bits_to_float(v_cpu[static_cast<size_t>(kvh * hd + ch) * capacity + p]);
          exact += probs[p] * vv;
          mass += probs[p] * std::fabs(vv);
          if (probs[p] < 6.103515625e-5) subnormal_mass += std::fabs(vv);
        }
        const double value = got[static_cast<size_t>(t) * out_stride + h * hd + ch];
        const double cpu_value = cpu_out[static_cast<size_t>(t) * row + h * hd + ch];
        const double bound_exact = gpu_rel * mass;
        const double bound_cpu = (gpu_rel + cpu_rel) * mass + kF16SubnormalStep / 2 * subnormal_mass;
        const bool in_exact = std::fabs(value - exact) <= bound_exact, in_cpu = std::fabs(value - cpu_value) <= bound_cpu;
        if (!in_exact || !in_cpu) {
          std::printf("t %d head %d channel %d: gpu %.9g exact %.9g cpu %.9g (bounds %.3g, %.3g)\n", t, h, ch, value, exact,
                      cpu_value, bound_exact, bound_cpu);
          return false;
        }
        worst.vs_exact = std::max(worst.vs_exact, std::fabs(value - exact) / bound_exact);
        worst.vs_cpu = std::max(worst.vs_cpu, std::fabs(value - cpu_value) / bound_cpu);
      }
      for (int e = row; e < out_stride; ++e) ok &= got[static_cast<size_t>(t) * out_stride + e] == 0.0f;
    }
  }
  return ok;
}

}  // namespace

// Runs every case with one random stream and prints the worst errors relative to their bounds.
template <size_t N>
void check_cases(const char* kind, const Case (&cases)[N], uint64_t seed) {
  Rng rng(seed);
  Worst worst;
  for (const Case& c : cases) {
    const bool ok = check_case(c, rng, worst);
    if (!ok) std::printf("failed: %s n_head %d/%d head_dim %d pos0 %d\n", kind, c.n_head, c.n_head_kv, c.head_dim, c.pos0);
    CHECK(ok);
  }
  std::printf("attention %s: worst error / bound: vs exact %.3g, vs CPU %.3g\n", kind, worst.vs_exact, worst.vs_cpu);
}

TEST_CASE("attention.metal decode matches CpuBackend::attention and the exact result") {
  // n_head, n_head_kv, head_dim, pos0, n_tokens, decode
  const Case cases[] = {{14, 2, 64, 0, 1, true},   {4, 4, 32, 1, 1, true},    {8, 2, 64, 31, 1, true},
                        {8, 2, 32, 32, 1, true},   {14, 2, 64, 33, 1, true},  {4, 4, 64, 127, 1, true},
                        {8, 2, 32, 200, 1, true},  {14, 2, 32, 299, 1, true}, {8, 2, 64, 62, 3, true},
                        {14, 2, 64, 1999, 1, true}};
  check_cases("decode", cases, 86);
}

TEST_CASE("attention.metal prefill matches CpuBackend::attention and the exact result") {
  const Case cases[] = {{14, 2, 64, 0, 7, false}, {4, 4, 32, 5, 33, false}, {8, 2, 64, 230, 70, false},
                        {8, 2, 32, 0, 1, false},  {4, 4, 64, 95, 2, false}};
  check_cases("prefill", cases, 87);
}
