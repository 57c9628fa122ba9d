// The CPU reference and the tolerance of the RoPE kernels (kernels/rope_common.h), shared by
// the standalone test (test_metal_ops.cpp) and the fused one (test_metal_fused.cpp).
#pragma once

#include <algorithm>
#include <cmath>

#include <cmath>
#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "backend/metal/kernels/kernel_args.h"

namespace alloy_test {

// The angles are the CPU's bits (kernels/rope_common.h), so only cos and sin differ: the GPU's
// precise:: versions by at most 4 ulp, the CPU's libm by at most 1 ulp, and the product with
// attn_factor may then round differently (1 ulp): each coefficient moves by at most 6 ulp of
// itself, and the rotated value's own rounding may flip (1 ulp). Bound per rotated value:
// kRopeUlps * 2^-23 * attn_factor * (|x0| + |x1|). The emulator uses the CPU's libm, so it
// measures 0 (the tests print it); the bound is for the GPU.
constexpr double kRopeUlps = 7;

inline double rope_bound(float attn_factor, float x0, float x1) {
  return kRopeUlps * std::ldexp(1.0, -23) * attn_factor * (std::fabs(static_cast<double>(x0)) + std::fabs(static_cast<double>(x1)));
}

// The offsets in a head of the two values of pair i, as the kernels pair them.
inline int rope_first(const alloy::RopeParams& p, int i) { return p.mode == alloy::RopeMode::neox ? i : 2 * i; }
inline int rope_second(const alloy::RopeParams& p, int i) {
  return p.mode == alloy::RopeMode::neox ? i + p.n_rot / 2 : 2 * i + 1;
}

// The kernels' arguments for the CPU's parameters: theta_scale computed as rope_cache does.
inline kargs::Rope rope_args(const alloy::RopeParams& p, int n_heads, int head_dim, uint64_t row_stride) {
  const int mode = p.mode == alloy::RopeMode::neox ? kargs::kRopeModeNeox : kargs::kRopeModeNormal;
  const float theta_scale = std::pow(p.freq_base, -2.0f / static_cast<float>(p.n_rot));
  return {n_heads, head_dim, p.n_rot, mode, theta_scale, p.freq_scale, p.attn_factor, 0, row_stride};
}

// The RopeParams of a test shape.
inline alloy::RopeParams rope_params(int n_rot, float freq_base, float freq_scale, float attn_factor, alloy::RopeMode mode) {
  alloy::RopeParams p;
  p.n_rot = n_rot;
  p.freq_base = freq_base;
  p.freq_scale = freq_scale;
  p.attn_factor = attn_factor;
  p.mode = mode;
  return p;
}

// rope_cache / rope_head on every head of n_tokens rows of `stride` floats, token t at
// positions[t].
inline void cpu_rope_rows(std::vector<float>& x, size_t stride, int n_heads, int head_dim,
                          const std::vector<int32_t>& positions, const alloy::RopeParams& p) {
  std::vector<float> cache(static_cast<size_t>(p.n_rot));
  for (size_t t = 0; t < positions.size(); ++t) {
    alloy::cpu::rope_cache(positions[t], p, cache.data());
    for (int h = 0; h < n_heads; ++h) alloy::cpu::rope_head(&x[t * stride + static_cast<size_t>(h) * head_dim], cache.data(), p);
  }
}

// Whether `got` (rows of `stride` floats: n_heads heads of head_dim, then padding up to the
// stride) is `x` rotated: the rotated pairs within rope_bound of the CPU's `expect`, the values
// past n_rot and the padding exactly x's. worst: the largest error / bound seen so far.
struct RotationCheck {
  bool within = true;
  bool untouched = true;
};
inline RotationCheck check_rotated(const std::vector<float>& got, const std::vector<float>& x, const std::vector<float>& expect,
                                   int n_tokens, int n_heads, int head_dim, size_t stride, const alloy::RopeParams& p,
                                   float attn_factor, double& worst) {
  RotationCheck c;
  const size_t row = static_cast<size_t>(n_heads) * static_cast<size_t>(head_dim);
  for (int t = 0; t < n_tokens; ++t) {
    for (int h = 0; h < n_heads; ++h) {
      const size_t o = static_cast<size_t>(t) * stride + static_cast<size_t>(h) * static_cast<size_t>(head_dim);
      for (int i = 0; i < p.n_rot / 2; ++i) {
        const int i0 = rope_first(p, i), i1 = rope_second(p, i);
        const double bound = rope_bound(attn_factor, x[o + i0], x[o + i1]);
        for (int e : {i0, i1}) {
          const double err = std::fabs(static_cast<double>(got[o + e]) - expect[o + e]);
          c.within &= err <= bound;
          if (bound > 0) worst = std::max(worst, err / bound);
        }
      }
      for (int e = p.n_rot; e < head_dim; ++e) c.untouched &= got[o + e] == x[o + e];
    }
    const size_t o = static_cast<size_t>(t) * stride;
    for (size_t e = row; e < stride; ++e) c.untouched &= got[o + e] == x[o + e];
  }
  return c;
}

}  // namespace alloy_test
