// The fused Metal kernels of the forward pass that replace two standalone ones, compiled as C++
// and run by the emulator (backend/metal/emu/) against the CPU backend: rope_store.metal (RoPE
// of Q and K, K and V into the F16 KV cache) against rope_cache / rope_head and
// CpuBackend::store_kv, with the standalone kernels' tolerances (test_metal_ops.cpp). The fused
// matrix-vector kernels are tested with the others in test_metal_matvec*.cpp (matvec_check.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

namespace metal_fused {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/rope_store.metal"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_fused

#include "backend/cpu/cpu_backend.h"
#include "check.h"
#include "core/half.h"
#include "core/rng.h"
#include "rope_reference.h"

using namespace alloy;
using namespace alloy::metal_emu;

namespace {

constexpr uint16_t kCacheSentinel = 0x5A5A;  // cache halves no position of the step writes

bool clean(const DispatchReport& report) {
  if (!report.ok()) std::printf("dispatch errors:\n%s", report.summary().c_str());
  return report.ok();
}

std::vector<float> random_rows(Rng& rng, int n_tokens, int n, int stride, float scale, float padding) {
  std::vector<float> x(static_cast<size_t>(n_tokens) * stride, padding);
  for (int t = 0; t < n_tokens; ++t) {
    for (int i = 0; i < n; ++i) x[static_cast<size_t>(t) * stride + i] = scale * rng.normal();
  }
  return x;
}

// The packed rows the CPU backend takes.
std::vector<float> packed(const std::vector<float>& x, int n_tokens, int n, int stride) {
  std::vector<float> out;
  for (int t = 0; t < n_tokens; ++t) out.insert(out.end(), x.begin() + t * stride, x.begin() + t * stride + n);
  return out;
}

// f16 rounding of a double through float: monotone, so a float in [lo, hi] rounds into
// [f16(lo), f16(hi)].
float f16_rounded(double v) { return f16_bits_to_float(float_to_f16_bits(static_cast<float>(v))); }

struct Shape {
  int n_head, n_head_kv, head_dim, n_rot;
  RopeMode mode;
  int n_tokens, threads, q_pad, kv_pad, pos0, capacity, k_shift;
  float freq_base, freq_scale, attn_factor;
};

}  // namespace

TEST_CASE("rope_store.metal: Q rotated in place, rotated K and V in the CPU backend's F16 cache") {
  const Shape shapes[] = {
      {14, 2, 64, 64, RopeMode::neox, 1, 64, 0, 0, 300, 512, 0, 1000000.0f, 1.0f, 1.0f},  // the 0.5B decode step
      {14, 2, 64, 64, RopeMode::neox, 3, 256, 5, 3, 0, 64, 0, 1000000.0f, 1.0f, 1.0f},
      {4, 4, 32, 20, RopeMode::normal, 2, 48, 1, 0, 61, 64, 0, 500000.0f, 0.5f, 1.2f},
      {6, 3, 32, 20, RopeMode::neox, 2, 100, 0, 2, 17, 64, 1, 10000.0f, 0.25f, 0.8f},  // K positions shifted
      {5, 1, 6, 6, RopeMode::normal, 4, 7, 2, 1, 120, 128, 0, 10000.0f, 1.0f, 1.0f},
      {2, 1, 128, 128, RopeMode::normal, 1, 1024, 0, 0, 32000, 32768, 0, 10000.0f, 1.0f, 1.0f},
      {1, 1, 2, 2, RopeMode::neox, 3, 32, 0, 0, 5, 8, 0, 10000.0f, 1.0f, 1.0f}};
  Rng rng(91);
  double worst_q = 0;
  size_t k_bits_differing = 0;
  for (const Shape& s : shapes) {
    const RopeParams params = alloy_test::rope_params(s.n_rot, s.freq_base, s.freq_scale, s.attn_factor, s.mode);
    const int n_q = s.n_head * s.head_dim, n_kv = s.n_head_kv * s.head_dim;
    const int q_stride = n_q + s.q_pad, kv_stride = n_kv + s.kv_pad;
    // Q's padding must stay as it is; K's and V's must never be read (NaN would show in the cache).
    const std::vector<float> q = random_rows(rng, s.n_tokens, n_q, q_stride, 2.0f, 7.0f);
    const std::vector<float> k = random_rows(rng, s.n_tokens, n_kv, kv_stride, 2.0f, std::nanf(""));
    std::vector<float> v = random_rows(rng, s.n_tokens, n_kv, kv_stride, 4.0f, std::nanf(""));
    // V's conversion at ties, subnormals, the largest finite half, overflow and underflow.
    const float special[] = {1.00048828125f, 2.98023223876953125e-8f, -6.1e-5f, 65519.0f, 65520.0f, -1e-8f, 1e30f};
    for (size_t i = 0; i < std::size(special) && i < static_cast<size_t>(n_kv); ++i) v[i] = special[i];
    std::vector<int32_t> q_positions(static_cast<size_t>(s.n_tokens)), k_positions(q_positions.size());
    for (int t = 0; t < s.n_tokens; ++t) q_positions[t] = s.pos0 + t, k_positions[t] = s.pos0 + t + s.k_shift;

    // The CPU backend: rope_head on Q and K, then store_kv of the rotated K and of V.
    std::vector<float> q_expect = q, k_rot = k;
    alloy_test::cpu_rope_rows(q_expect, static_cast<size_t>(q_stride), s.n_head, s.head_dim, q_positions, params);
    alloy_test::cpu_rope_rows(k_rot, static_cast<size_t>(kv_stride), s.n_head_kv, s.head_dim, k_positions, params);
    const size_t cache_elems = static_cast<size_t>(s.capacity) * n_kv;
    std::vector<uint16_t> k_cpu(cache_elems, kCacheSentinel), v_cpu(cache_elems, kCacheSentinel);
    cpu::CpuBackendConfig config;
    config.max_tokens = s.n_tokens;
    config.max_kv = s.capacity;
    cpu::CpuBackend cpu_backend(config, {});
    const KvLayerView view{KvType::f16, reinterpret_cast<uint8_t*>(k_cpu.data()), reinterpret_cast<uint8_t*>(v_cpu.data()),
                           s.capacity, n_kv};
    const std::vector<float> k_rot_packed = packed(k_rot, s.n_tokens, n_kv, kv_stride);
    cpu_backend.store_kv(view, k_rot_packed.data(), packed(v, s.n_tokens, n_kv, kv_stride).data(), s.n_tokens, s.pos0);
    // Each cached K value's bound on its rotation (0 past n_rot), in the packed layout.
    std::vector<double> k_bound(k_rot_packed.size(), 0.0);
    for (int t = 0; t < s.n_tokens; ++t) {
      for (int h = 0; h < s.n_head_kv; ++h) {
        const size_t in = static_cast<size_t>(t) * kv_stride + h * s.head_dim, out = static_cast<size_t>(t) * n_kv + h * s.head_dim;
        for (int i = 0; i < s.n_rot / 2; ++i) {
          const int i0 = alloy_test::rope_first(params, i), i1 = alloy_test::rope_second(params, i);
          k_bound[out + i0] = k_bound[out + i1] = alloy_test::rope_bound(s.attn_factor, k[in + i0], k[in + i1]);
        }
      }
    }

    const kargs::RopeStore args{alloy_test::rope_args(params, s.n_head, s.head_dim, static_cast<uint64_t>(q_stride)),
                                {n_kv, s.pos0, s.capacity, 0, static_cast<uint64_t>(kv_stride), static_cast<uint64_t>(kv_stride)}};
    const int items = s.n_head * (s.n_rot / 2) + n_kv;
    for (LaneOrder order : {LaneOrder::forward, LaneOrder::reverse}) {
      const Buffer qb = Buffer::of("q", q), kb = Buffer::of("k", k), vb = Buffer::of("v", v);
      const Buffer qpb = Buffer::of("q_positions", q_positions), kpb = Buffer::of("k_positions", k_positions);
      const Buffer kc = Buffer::of("k_cache", std::vector<uint16_t>(cache_elems, kCacheSentinel));
      const Buffer vc = Buffer::of("v_cache", std::vector<uint16_t>(cache_elems, kCacheSentinel));
      const auto qv = qb.view<float>();
      const auto kv = kb.view<const float>(), vv = vb.view<const float>();
      const auto qpv = qpb.view<const int>(), kpv = kpb.view<const int>();
      const auto kcv = kc.view<metal::half>(), vcv = vc.view<metal::half>();
      DispatchConfig c;
      c.threadgroups = metal::uint3(static_cast<uint32_t>((items + s.threads - 1) / s.threads), static_cast<uint32_t>(s.n_tokens), 1u);
      c.threads_per_threadgroup = metal::uint3(static_cast<uint32_t>(s.threads), 1u, 1u);
      c.order = order;
      CHECK(clean(dispatch(c, [&](const Lane& l) {
        metal_fused::kernel_rope_store_f16(args, qpv, kpv, qv, kv, vv, kcv, vcv, l.threadgroup_position_in_grid,
                                           l.thread_index_in_threadgroup, l.threads_per_threadgroup.x);
      })));

      // Q: rotated within the standalone kernel's bound, untouched past n_rot and in the padding.
      const alloy_test::RotationCheck qc = alloy_test::check_rotated(qb.to_vector<float>(), q, q_expect, s.n_tokens, s.n_head,
                                                                      s.head_dim, static_cast<size_t>(q_stride), params, s.attn_factor, worst_q);
      CHECK(qc.within);
      CHECK(qc.untouched);

      // K and V stay as they were (K's rotation goes only to the cache).
      CHECK(std::memcmp(kb.to_vector<float>().data(), k.data(), k.size() * sizeof(float)) == 0);
      CHECK(std::memcmp(vb.to_vector<float>().data(), v.data(), v.size() * sizeof(float)) == 0);

      // V cache: the CPU's bits. K cache: the CPU's bits, or (where the GPU's cos / sin moved the
      // rotation by at most its bound B) f16 of a value within B of the CPU's rotated float:
      // in [f16(r - B), f16(r + B)]. Positions the step does not write keep the sentinel.
      CHECK(vc.to_vector<uint16_t>() == v_cpu);
      const std::vector<uint16_t> got_k = kc.to_vector<uint16_t>();
      bool k_within = true;
      for (size_t i = 0; i < cache_elems; ++i) {
        if (got_k[i] == k_cpu[i]) continue;
        ++k_bits_differing;
        const int pos = static_cast<int>(i / n_kv), ch = static_cast<int>(i % n_kv);
        if (pos < s.pos0 || pos >= s.pos0 + s.n_tokens) {
          k_within = false;
          continue;
        }
        const size_t p = static_cast<size_t>(pos - s.pos0) * n_kv + ch;
        const double r = k_rot_packed[p], b = k_bound[p];
        const float got = f16_bits_to_float(got_k[i]);
        k_within &= b > 0 && got >= f16_rounded(r - b) && got <= f16_rounded(r + b);
      }
      CHECK(k_within);
    }
  }
  std::printf("rope_store: Q worst difference / bound %.3g (bound %.0f ulp of attn_factor * (|x0| + |x1|)); "
              "K cache halves differing from the CPU's: %zu\n",
              worst_q, alloy_test::kRopeUlps, k_bits_differing);
}
