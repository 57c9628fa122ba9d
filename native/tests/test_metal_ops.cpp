// The element-wise and data-movement Metal kernels of the forward pass (kv_store, rope, swiglu,
// add), compiled as C++ and run by the emulator (backend/metal/emu/), against the CPU backend
// on odd shapes, sizes that are not multiples of the threadgroup, and both lane orders. Every
// dispatch must run clean (no out-of-bounds access, no partial barrier). The attention kernels
// are tested in test_metal_attention.cpp, get_rows in test_metal_get_rows.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

namespace metal_ops {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/add.metal"
#include "backend/metal/kernels/kv_store.metal"
#include "backend/metal/kernels/rope.metal"
#include "backend/metal/kernels/swiglu.metal"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_ops

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "check.h"
#include "core/rng.h"
#include "rope_reference.h"

using namespace alloy;
using namespace alloy::metal_emu;

namespace {

// RoPE: the CPU reference and the bound (kRopeUlps) are rope_reference.h's, shared with
// test_metal_fused.cpp.
// SwiGLU: out = x / (1 + e) * up, e = exp(-x). Each side's exp has a relative error (GPU
// precise::exp 4 ulp = 8 * 2^-24, CPU ggml/libm expf 1.5 ulp = 3 * 2^-24) that reaches 1 + e at
// most undiminished, then 3 roundings per side (add, divide, multiply): 8 + 3 + 6 units of
// 2^-24 relative to the output. Measured in the emulator: printed by the test.
constexpr double kSwigluRelTolerance = 17 * 5.9604644775390625e-8;

bool clean(const DispatchReport& report) {
  if (!report.ok()) std::printf("dispatch errors:\n%s", report.summary().c_str());
  return report.ok();
}

DispatchConfig grid(uint32_t groups_x, uint32_t groups_y, uint32_t threads, LaneOrder order) {
  DispatchConfig c;
  c.threadgroups = metal::uint3(groups_x, groups_y, 1u);
  c.threads_per_threadgroup = metal::uint3(threads, 1u, 1u);
  c.order = order;
  return c;
}

uint32_t groups_for(int n, int threads) { return static_cast<uint32_t>((n + threads - 1) / threads); }

std::vector<float> random_floats(Rng& rng, size_t n, float scale) {
  std::vector<float> x(n);
  for (float& v : x) v = scale * rng.normal();
  return x;
}

const LaneOrder kOrders[] = {LaneOrder::forward, LaneOrder::reverse};

}  // namespace

TEST_CASE("kv_store.metal writes the CPU backend's F16 cache bits (K rows, V transposed)") {
  struct Shape {
    int n_embd, n_tokens, pos0, capacity, threads, pad;
  };
  const Shape shapes[] = {{128, 1, 0, 64, 64, 0},  {128, 5, 17, 64, 32, 3}, {7, 3, 61, 64, 32, 1},
                          {33, 2, 126, 128, 48, 0}, {100, 4, 60, 128, 256, 5}, {896, 1, 300, 320, 1024, 0}};
  // Ties to even (1 + 2^-11, 1 + 3 * 2^-11, 2^-25), subnormals, the largest finite half after
  // rounding, overflow to infinity, underflow to -0.
  const float special[] = {1.00048828125f, 1.00146484375f, 2.98023223876953125e-8f, 3e-6f, -6.1e-5f,
                           65519.0f,       65520.0f,       -1e-8f,                  -0.0f,  1e30f};
  Rng rng(81);
  for (const Shape& s : shapes) {
    const int stride = s.n_embd + s.pad;
    std::vector<float> k = random_floats(rng, static_cast<size_t>(s.n_tokens) * stride, 4.0f);
    std::vector<float> v = random_floats(rng, k.size(), 4.0f);
    for (size_t i = 0; i < std::size(special) && i < k.size(); ++i) k[i] = special[i], v[k.size() - 1 - i] = special[i];
    // The CPU reference takes packed rows.
    std::vector<float> k_packed, v_packed;
    for (int t = 0; t < s.n_tokens; ++t) {
      k_packed.insert(k_packed.end(), k.begin() + t * stride, k.begin() + t * stride + s.n_embd);
      v_packed.insert(v_packed.end(), v.begin() + t * stride, v.begin() + t * stride + s.n_embd);
    }
    const size_t cache_elems = static_cast<size_t>(s.capacity) * s.n_embd;
    std::vector<uint16_t> k_cpu(cache_elems, 0), v_cpu(cache_elems, 0);
    cpu::CpuBackendConfig config;
    config.max_tokens = s.n_tokens;
    config.max_kv = s.capacity;
    cpu::CpuBackend cpu_backend(config, {});
    const KvLayerView view{KvType::f16, reinterpret_cast<uint8_t*>(k_cpu.data()), reinterpret_cast<uint8_t*>(v_cpu.data()),
                           s.capacity, s.n_embd};
    cpu_backend.store_kv(view, k_packed.data(), v_packed.data(), s.n_tokens, s.pos0);

    const uint64_t st = static_cast<uint64_t>(stride);
    const kargs::KvStore args{s.n_embd, s.pos0, s.capacity, 0, st, st};
    for (LaneOrder order : kOrders) {
      const Buffer kb = Buffer::of("k", k), vb = Buffer::of("v", v);
      const Buffer kc("k_cache", cache_elems * 2), vc("v_cache", cache_elems * 2);
      const auto kv = kb.view<const float>(), vv = vb.view<const float>();
      const auto kcv = kc.view<metal::half>(), vcv = vc.view<metal::half>();
      CHECK(clean(dispatch(grid(groups_for(s.n_embd, s.threads), s.n_tokens, s.threads, order), [&](const Lane& l) {
        metal_ops::kernel_kv_store_f16(args, kv, vv, kcv, vcv, l.threadgroup_position_in_grid,
                                       l.thread_index_in_threadgroup, l.threads_per_threadgroup.x);
      })));
      CHECK(kc.to_vector<uint16_t>() == k_cpu);
      CHECK(vc.to_vector<uint16_t>() == v_cpu);
    }
  }
}

TEST_CASE("rope.metal matches the CPU's rope_cache / rope_head (normal and NEOX)") {
  struct Shape {
    int n_heads, head_dim, n_rot;
    RopeMode mode;
    int n_tokens, threads, pad;
    float freq_base, freq_scale, attn_factor;
  };
  const Shape shapes[] = {{14, 64, 64, RopeMode::neox, 3, 64, 0, 1000000.0f, 1.0f, 1.0f},
                          {2, 64, 64, RopeMode::normal, 5, 32, 3, 10000.0f, 1.0f, 1.0f},
                          {3, 32, 20, RopeMode::neox, 2, 48, 1, 10000.0f, 0.25f, 0.8f},
                          {3, 32, 20, RopeMode::normal, 2, 100, 0, 500000.0f, 0.5f, 1.2f},
                          {4, 128, 128, RopeMode::neox, 1, 256, 0, 1000000.0f, 1.0f, 1.0f},
                          {5, 6, 6, RopeMode::normal, 4, 7, 2, 10000.0f, 1.0f, 1.0f},
                          {1, 2, 2, RopeMode::neox, 3, 32, 0, 10000.0f, 1.0f, 1.0f}};
  Rng rng(82);
  double worst = 0;
  for (const Shape& s : shapes) {
    const int row = s.n_heads * s.head_dim, stride = row + s.pad;
    const std::vector<float> x = random_floats(rng, static_cast<size_t>(s.n_tokens) * stride, 2.0f);
    std::vector<int32_t> positions(static_cast<size_t>(s.n_tokens));
    for (int t = 0; t < s.n_tokens; ++t) positions[t] = t == 0 ? 0 : static_cast<int32_t>(rng.below(t % 2 ? 300 : 32768));
    const RopeParams params = alloy_test::rope_params(s.n_rot, s.freq_base, s.freq_scale, s.attn_factor, s.mode);
    std::vector<float> expect = x;
    alloy_test::cpu_rope_rows(expect, static_cast<size_t>(stride), s.n_heads, s.head_dim, positions, params);
    const kargs::Rope args = alloy_test::rope_args(params, s.n_heads, s.head_dim, static_cast<uint64_t>(stride));
    const int pairs = s.n_heads * s.n_rot / 2;
    for (LaneOrder order : kOrders) {
      const Buffer xb = Buffer::of("x", x), pb = Buffer::of("positions", positions);
      const auto xv = xb.view<float>();
      const auto pv = pb.view<const int>();
      CHECK(clean(dispatch(grid(groups_for(pairs, s.threads), s.n_tokens, s.threads, order), [&](const Lane& l) {
        metal_ops::kernel_rope_f32(args, pv, xv, l.threadgroup_position_in_grid, l.thread_index_in_threadgroup,
                                   l.threads_per_threadgroup.x);
      })));
      const alloy_test::RotationCheck c = alloy_test::check_rotated(xb.to_vector<float>(), x, expect, s.n_tokens, s.n_heads, s.head_dim,
                                                                     static_cast<size_t>(stride), params, s.attn_factor, worst);
      CHECK(c.within);
      CHECK(c.untouched);
    }
  }
  std::printf("rope: worst difference / bound %.3g (bound %.0f ulp of attn_factor * (|x0| + |x1|))\n", worst,
              alloy_test::kRopeUlps);
}

TEST_CASE("swiglu.metal matches the CPU's swiglu_row, also in place") {
  struct Shape {
    int n, rows, threads, pad;
  };
  const Shape shapes[] = {{1, 1, 32, 0},   {15, 2, 32, 1},  {16, 1, 64, 0},
                          {17, 3, 64, 0},  {100, 2, 48, 3}, {4864, 2, 1024, 0}};
  Rng rng(83);
  double worst = 0;
  for (const Shape& s : shapes) {
    const int stride = s.n + s.pad;
    const std::vector<float> gate = random_floats(rng, static_cast<size_t>(s.rows) * stride, 4.0f);
    const std::vector<float> up = random_floats(rng, gate.size(), 2.0f);
    std::vector<float> expect(gate.size(), 0.0f);
    for (int r = 0; r < s.rows; ++r) {
      const size_t o = static_cast<size_t>(r) * stride;
      cpu::swiglu_row(&gate[o], &up[o], s.n, &expect[o]);
    }
    const uint64_t st = static_cast<uint64_t>(stride);
    const kargs::Swiglu args{s.n, 0, st, st, st};
    for (LaneOrder order : kOrders) {
      for (bool in_place : {false, true}) {
        const Buffer gb = Buffer::of("gate", gate), ub = Buffer::of("up", up), separate("out", gate.size() * sizeof(float));
        const Buffer& ob = in_place ? gb : separate;
        const auto gv = gb.view<const float>(), uv = ub.view<const float>();
        const auto ov = ob.view<float>();
        CHECK(clean(dispatch(grid(groups_for(s.n, s.threads), s.rows, s.threads, order), [&](const Lane& l) {
          metal_ops::kernel_swiglu_f32(args, gv, uv, ov, l.threadgroup_position_in_grid, l.thread_index_in_threadgroup,
                                       l.threads_per_threadgroup.x);
        })));
        const std::vector<float> got = ob.to_vector<float>();
        bool within = true;
        for (int r = 0; r < s.rows; ++r) {
          for (int i = 0; i < s.n; ++i) {
            const size_t k = static_cast<size_t>(r) * stride + i;
            const double err = std::fabs(static_cast<double>(got[k]) - expect[k]);
            within &= err <= kSwigluRelTolerance * std::fabs(expect[k]);
            if (expect[k] != 0.0f) worst = std::max(worst, err / std::fabs(expect[k]));
          }
          // In place, the padding keeps the gate values; otherwise it stays zero.
          const size_t o = static_cast<size_t>(r) * stride;
          for (int i = s.n; i < stride; ++i) within &= got[o + i] == (in_place ? gate[o + i] : 0.0f);
        }
        CHECK(within);
      }
    }
  }
  std::printf("swiglu: worst relative difference %.3g (tolerance %.3g)\n", worst, kSwigluRelTolerance);
}

TEST_CASE("add.metal: y += x and y[r] += bias are the CPU backend's bits") {
  cpu::CpuBackendConfig config;
  config.max_tokens = 4;
  cpu::CpuBackend cpu_backend(config, {});
  Rng rng(84);
  for (int n : {1, 33, 1000, 4097}) {
    for (int threads : {64, 256}) {
      const std::vector<float> x = random_floats(rng, static_cast<size_t>(n), 3.0f), y = random_floats(rng, x.size(), 3.0f);
      std::vector<float> expect = y;
      cpu_backend.add(expect.data(), x.data(), n);
      for (LaneOrder order : kOrders) {
        const Buffer xb = Buffer::of("x", x), yb = Buffer::of("y", y);
        const auto xv = xb.view<const float>();
        const auto yv = yb.view<float>();
        const kargs::Add args{static_cast<uint64_t>(n)};
        CHECK(clean(dispatch(grid(groups_for(n, threads), 1, threads, order), [&](const Lane& l) {
          metal_ops::kernel_add_f32(args, xv, yv, l.thread_position_in_grid.x);
        })));
        CHECK(yb.to_vector<float>() == expect);
      }
    }
  }
  struct Shape {
    int n, rows, threads, pad;
  };
  for (const Shape& s : {Shape{1, 1, 32, 0}, Shape{7, 3, 32, 2}, Shape{896, 4, 256, 0}, Shape{130, 2, 64, 1}}) {
    const int stride = s.n + s.pad;
    const std::vector<float> bias = random_floats(rng, static_cast<size_t>(s.n), 1.0f);
    const std::vector<float> y = random_floats(rng, static_cast<size_t>(s.rows) * stride, 3.0f);
    std::vector<float> expect = y;
    for (int r = 0; r < s.rows; ++r) cpu_backend.add_bias(&expect[static_cast<size_t>(r) * stride], bias.data(), 1, s.n);
    for (LaneOrder order : kOrders) {
      const Buffer bb = Buffer::of("bias", bias), yb = Buffer::of("y", y);
      const auto bv = bb.view<const float>();
      const auto yv = yb.view<float>();
      const kargs::AddBias args{s.n, 0, static_cast<uint64_t>(stride)};
      CHECK(clean(dispatch(grid(groups_for(s.n, s.threads), s.rows, s.threads, order), [&](const Lane& l) {
        metal_ops::kernel_add_bias_f32(args, bv, yv, l.threadgroup_position_in_grid, l.thread_index_in_threadgroup,
                                       l.threads_per_threadgroup.x);
      })));
      CHECK(yb.to_vector<float>() == expect);
    }
  }
}
