// PlanRunner (metal_plan_runner.h): the adapter table from pipeline names to the emulated
// kernels, and the step loop. Included once by the test that uses it (see the header).
#include "metal_plan_runner.h"

#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <type_traits>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

namespace metal_plan_kernels {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/attention.metal"
#include "backend/metal/kernels/get_rows.metal"
#include "backend/metal/kernels/matmul.metal"
#include "backend/metal/kernels/matvec_float.metal"
#include "backend/metal/kernels/matvec_k_quants.metal"
#include "backend/metal/kernels/matvec_legacy.metal"
#include "backend/metal/kernels/matvec_q8_0.metal"
#include "backend/metal/kernels/rms_norm.metal"
#include "backend/metal/kernels/rope_store.metal"
#include "backend/metal/kernels/swiglu.metal"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_plan_kernels

#include "core/error.h"

namespace alloy_test {

namespace {

using alloy::Error;
using alloy::ErrorKind;
using alloy::metal::Access;
using alloy::metal::Binding;
using alloy::metal::BufferId;
using alloy::metal::Dispatch;
using alloy::metal::Plan;
using alloy::metal_emu::KernelBody;
using alloy::metal_emu::Lane;
using alloy::metal_emu::Ptr;
using alloy::metal_emu::Region;
namespace k = metal_plan_kernels;

[[noreturn]] void fail(size_t index, const Dispatch& d, const std::string& what) {
  throw Error(ErrorKind::internal, "emulated Metal plan: dispatch " + std::to_string(index) + " (" + d.pipeline + "): " + what);
}

// One dispatch's arguments and bound ranges, as the kernel's parameters see them.
class Bound {
 public:
  Bound(size_t index, const Dispatch& d, std::vector<Region> regions) : index_(index), d_(d), regions_(std::move(regions)) {}

  template <class A>
  A args() const {
    static_assert(std::is_trivially_copyable_v<A>, "kargs structs are plain data");
    if (d_.args.size() != sizeof(A)) fail(index_, d_, "args of " + std::to_string(d_.args.size()) + " bytes, the kernel takes " + std::to_string(sizeof(A)));
    A a;
    std::memcpy(&a, d_.args.data(), sizeof(A));
    return a;
  }

  // A view of the range bound at `slot`. A parameter that may write (non-const T) needs a
  // binding the plan lets it write; weights are only ever bound for reading.
  template <class T>
  Ptr<T> view(uint32_t slot) const {
    for (size_t i = 0; i < d_.bindings.size(); ++i) {
      const Binding& b = d_.bindings[i];
      if (b.slot != slot) continue;
      if (!std::is_const_v<T> && (b.access == Access::read || b.buffer == BufferId::weights)) {
        fail(index_, d_, "slot " + std::to_string(slot) + " is bound read-only but the kernel may write it");
      }
      return Ptr<T>(&regions_[i], 0);
    }
    fail(index_, d_, "no binding at slot " + std::to_string(slot));
  }

 private:
  size_t index_;
  const Dispatch& d_;
  std::vector<Region> regions_;  // regions_[i]: d_.bindings[i]'s range
};

using Adapter = std::function<KernelBody(const Bound&)>;
using AdapterTable = std::map<std::string, Adapter>;

template <class Q, k::MvInput kIn, k::MvOutput kOut>
KernelBody matvec(const Bound& b) {
  const auto args = b.args<kargs::MatVecFused>();
  const auto w = b.view<const metal::uchar>(1), w_up = b.view<const metal::uchar>(2);
  const auto x = b.view<const float>(3), norm = b.view<const float>(4), bias = b.view<const float>(5);
  const auto y = b.view<float>(6);
  return [=](const Lane& l) {
    k::kernel_mv<Q, kIn, kOut>(args, w, w_up, x, norm, bias, y, l.threadgroup_memory<float>(0), l.threadgroup_position_in_grid,
                               l.thread_index_in_threadgroup, l.simdgroup_index_in_threadgroup, l.thread_index_in_simdgroup);
  };
}

template <class Q, k::MvInput kIn>
KernelBody matvec_qkv(const Bound& b) {
  const auto args = b.args<kargs::MatVecQkv>();
  const auto wq = b.view<const metal::uchar>(1), wk = b.view<const metal::uchar>(2), wv = b.view<const metal::uchar>(7);
  const auto x = b.view<const float>(3), norm = b.view<const float>(4);
  const auto bq = b.view<const float>(5), bk = b.view<const float>(8), bv = b.view<const float>(9);
  const auto yq = b.view<float>(6), yk = b.view<float>(10), yv = b.view<float>(11);
  return [=](const Lane& l) {
    k::kernel_mv_qkv<Q, kIn>(args, wq, wk, x, norm, bq, yq, wv, bk, bv, yk, yv, l.threadgroup_memory<float>(0),
                             l.threadgroup_position_in_grid, l.thread_index_in_threadgroup, l.simdgroup_index_in_threadgroup,
                             l.thread_index_in_simdgroup);
  };
}

template <class Q>
KernelBody get_rows(const Bound& b) {
  const auto args = b.args<kargs::GetRows>();
  const auto w = b.view<const metal::uchar>(1);
  const auto ids = b.view<const int>(2);
  const auto out = b.view<float>(3);
  return [=](const Lane& l) {
    k::kernel_get_rows<Q>(args, w, ids, out, l.threadgroup_position_in_grid, l.thread_index_in_threadgroup,
                          l.threads_per_threadgroup.x);
  };
}

// The eight kernels ALLOY_MV_KERNELS names for one dequantization policy, and its get_rows.
template <class Q>
void add_type(AdapterTable& table, const std::string& type) {
  const std::string p = "kernel_mv_" + type + "_";
  table[p + "x_store"] = matvec<Q, k::kMvInX, k::kMvOutStore>;
  table[p + "x_add"] = matvec<Q, k::kMvInX, k::kMvOutAdd>;
  table[p + "x_swiglu"] = matvec<Q, k::kMvInX, k::kMvOutSwiglu>;
  table[p + "norm_store"] = matvec<Q, k::kMvInNorm, k::kMvOutStore>;
  table[p + "norm_add"] = matvec<Q, k::kMvInNorm, k::kMvOutAdd>;
  table[p + "norm_swiglu"] = matvec<Q, k::kMvInNorm, k::kMvOutSwiglu>;
  table[p + "x_qkv"] = matvec_qkv<Q, k::kMvInX>;
  table[p + "norm_qkv"] = matvec_qkv<Q, k::kMvInNorm>;
  table["kernel_get_rows_" + type] = get_rows<Q>;
}

KernelBody rope_store(const Bound& b) {
  const auto args = b.args<kargs::RopeStore>();
  const auto q_pos = b.view<const int>(1), k_pos = b.view<const int>(2);
  const auto q = b.view<float>(3);
  const auto kk = b.view<const float>(4), v = b.view<const float>(5);
  const auto k_cache = b.view<metal::half>(6), v_cache = b.view<metal::half>(7);
  return [=](const Lane& l) {
    k::kernel_rope_store_f16(args, q_pos, k_pos, q, kk, v, k_cache, v_cache, l.threadgroup_position_in_grid,
                             l.thread_index_in_threadgroup, l.threads_per_threadgroup.x);
  };
}

KernelBody attention_decode(const Bound& b) {
  const auto args = b.args<kargs::Attention>();
  const auto q = b.view<const float>(1);
  const auto kc = b.view<const metal::half>(2), vc = b.view<const metal::half>(3);
  const auto out = b.view<float>(4);
  return [=](const Lane& l) {
    k::kernel_attention_decode_f16(args, q, kc, vc, out, l.threadgroup_memory<metal::half>(0), l.threadgroup_memory<float>(1),
                                   l.threadgroup_memory<float>(2), l.threadgroup_position_in_grid,
                                   l.thread_index_in_threadgroup, l.threads_per_threadgroup.x,
                                   l.simdgroup_index_in_threadgroup, l.simdgroups_per_threadgroup, l.thread_index_in_simdgroup);
  };
}

KernelBody attention_prefill(const Bound& b) {
  const auto args = b.args<kargs::Attention>();
  const auto q = b.view<const float>(1);
  const auto kc = b.view<const metal::half>(2), vc = b.view<const metal::half>(3);
  const auto out = b.view<float>(4);
  return [=](const Lane& l) {
    k::kernel_attention_prefill_f16(args, q, kc, vc, out, l.threadgroup_memory<metal::half>(0), l.threadgroup_memory<float>(1),
                                    l.threadgroup_position_in_grid, l.simdgroup_index_in_threadgroup,
                                    l.simdgroups_per_threadgroup, l.thread_index_in_simdgroup);
  };
}

// The prompt path (kernel_mm_<type>, with the RMSNorm and SwiGLU it needs unfused).
template <class Q, class TW>
KernelBody matmul(const Bound& b) {
  const auto args = b.args<kargs::MatMul>();
  const auto w = b.view<const metal::uchar>(1);
  const auto x = b.view<const float>(2), bias = b.view<const float>(3);
  const auto y = b.view<float>(4);
  return [=](const Lane& l) {
    k::kernel_mm<Q, TW>(args, w, x, bias, y, l.threadgroup_memory<TW>(0), l.threadgroup_memory<float>(1),
                        l.threadgroup_memory<float>(2), l.threadgroup_position_in_grid, l.thread_index_in_threadgroup,
                        l.simdgroup_index_in_threadgroup);
  };
}

KernelBody rms_norm(const Bound& b) {
  const auto args = b.args<kargs::RmsNorm>();
  const auto x = b.view<const float>(1), weight = b.view<const float>(2);
  const auto y = b.view<float>(3);
  return [=](const Lane& l) {
    k::kernel_rms_norm_f32(args, x, weight, y, l.threadgroup_memory<float>(0), l.threadgroup_position_in_grid.x,
                           l.thread_index_in_threadgroup, l.threads_per_threadgroup.x, l.simdgroup_index_in_threadgroup,
                           l.thread_index_in_simdgroup);
  };
}

KernelBody swiglu(const Bound& b) {
  const auto args = b.args<kargs::Swiglu>();
  const auto gate = b.view<const float>(1), up = b.view<const float>(2);
  const auto out = b.view<float>(3);
  return [=](const Lane& l) {
    k::kernel_swiglu_f32(args, gate, up, out, l.threadgroup_position_in_grid, l.thread_index_in_threadgroup,
                         l.threads_per_threadgroup.x);
  };
}

void add_prompt_kernels(AdapterTable& t) {
  using metal::half;
  t["kernel_mm_f32"] = matmul<k::DequantF32, float>;
  t["kernel_mm_f16"] = matmul<k::DequantF16, half>;
  t["kernel_mm_bf16"] = matmul<k::DequantBF16, float>;
  t["kernel_mm_q4_0"] = matmul<k::DequantQ4_0, half>;
  t["kernel_mm_q4_1"] = matmul<k::DequantQ4_1, half>;
  t["kernel_mm_q5_0"] = matmul<k::DequantQ5_0, half>;
  t["kernel_mm_q5_1"] = matmul<k::DequantQ5_1, half>;
  t["kernel_mm_q8_0"] = matmul<k::DequantQ8_0, half>;
  t["kernel_mm_q2_K"] = matmul<k::DequantQ2_K, half>;
  t["kernel_mm_q3_K"] = matmul<k::DequantQ3_K, half>;
  t["kernel_mm_q4_K"] = matmul<k::DequantQ4_K, half>;
  t["kernel_mm_q5_K"] = matmul<k::DequantQ5_K, half>;
  t["kernel_mm_q6_K"] = matmul<k::DequantQ6_K, half>;
  t["kernel_rms_norm_f32"] = rms_norm;
  t["kernel_swiglu_f32"] = swiglu;
}

const AdapterTable& adapters() {
  static const AdapterTable table = [] {
    AdapterTable t;
    add_type<k::DequantF32>(t, "f32");
    add_type<k::DequantF16>(t, "f16");
    add_type<k::DequantBF16>(t, "bf16");
    add_type<k::DequantQ4_0>(t, "q4_0");
    add_type<k::DequantQ4_1>(t, "q4_1");
    add_type<k::DequantQ5_0>(t, "q5_0");
    add_type<k::DequantQ5_1>(t, "q5_1");
    add_type<k::DequantQ8_0>(t, "q8_0");
    add_type<k::DequantQ2_K>(t, "q2_K");
    add_type<k::DequantQ3_K>(t, "q3_K");
    add_type<k::DequantQ4_K>(t, "q4_K");
    add_type<k::DequantQ5_K>(t, "q5_K");
    add_type<k::DequantQ6_K>(t, "q6_K");
    t["kernel_rope_store_f16"] = rope_store;
    t["kernel_attention_decode_f16"] = attention_decode;
    t["kernel_attention_prefill_f16"] = attention_prefill;
    add_prompt_kernels(t);
    return t;
  }();
  return table;
}

bool is_scratch(BufferId id) { return id != BufferId::weights && id != BufferId::ids && id != BufferId::positions && id != BufferId::kv; }

metal::uint3 uint3_of(const alloy::metal::Grid& g) { return metal::uint3(g.x, g.y, g.z); }

}  // namespace

PlanRunner::PlanRunner(const alloy::Model& model, int kv_capacity)
    : model_(model),
      kv_capacity_(kv_capacity),
      kv_(alloy::metal::kv_layer_offset(model.hparams(), kv_capacity, model.hparams().n_layer)) {
  std::memset(kv_.data(), kScratchPoison, kv_.size());
}

std::vector<float> PlanRunner::run(const Plan& plan, const std::vector<int32_t>& ids, const std::vector<int32_t>& positions) {
  return run_on(plan, ids, positions, kv_.data(), kv_.size());
}

std::vector<float> PlanRunner::run_on(const Plan& plan, const std::vector<int32_t>& ids, const std::vector<int32_t>& positions,
                                      uint8_t* kv, uint64_t kv_bytes) {
  using alloy::metal_emu::AlignedBytes;
  constexpr int kIds = static_cast<int>(BufferId::ids), kPositions = static_cast<int>(BufferId::positions);
  if (plan.buffer_bytes[kIds] != ids.size() * sizeof(int32_t) || plan.buffer_bytes[kPositions] != positions.size() * sizeof(int32_t)) {
    throw Error(ErrorKind::internal, "emulated Metal plan: ids / positions do not match the step's tokens");
  }
  if (plan.buffer_bytes[static_cast<int>(BufferId::kv)] != kv_bytes) {
    throw Error(ErrorKind::internal, "emulated Metal plan: the step's KV cache size is not the given cache's");
  }
  const alloy::ByteSpan file = model_.file().file_bytes();
  if (plan.buffer_bytes[static_cast<int>(BufferId::weights)] != file.size()) {
    throw Error(ErrorKind::internal, "emulated Metal plan: the weights buffer is not the model's file");
  }

  // Each buffer's bytes: the file, the caller's ids and positions, the persistent cache and
  // poisoned scratch of this step's sizes.
  std::vector<std::unique_ptr<AlignedBytes>> owned;
  uint8_t* data[alloy::metal::kBufferCount] = {};
  for (int b = 0; b < alloy::metal::kBufferCount; ++b) {
    const BufferId id = static_cast<BufferId>(b);
    if (id == BufferId::weights) {
      // Read-only in practice: Bound::view refuses a writable view of the weights.
      data[b] = const_cast<uint8_t*>(file.data());
    } else if (id == BufferId::kv) {
      data[b] = kv;
    } else {
      owned.push_back(std::make_unique<AlignedBytes>(plan.buffer_bytes[b]));
      data[b] = owned.back()->data();
      if (is_scratch(id)) std::memset(data[b], kScratchPoison, plan.buffer_bytes[b]);
    }
  }
  std::memcpy(data[kIds], ids.data(), plan.buffer_bytes[kIds]);
  std::memcpy(data[kPositions], positions.data(), plan.buffer_bytes[kPositions]);

  for (size_t i = 0; i < plan.dispatches.size(); ++i) {
    const Dispatch& d = plan.dispatches[i];
    const auto adapter = adapters().find(d.pipeline);
    if (adapter == adapters().end()) fail(i, d, "no emulated kernel of this name");
    std::vector<Region> regions;
    for (const Binding& b : d.bindings) {
      const int id = static_cast<int>(b.buffer);
      if (b.offset + b.bytes < b.offset || b.offset + b.bytes > plan.buffer_bytes[id]) fail(i, d, "binding past its buffer");
      regions.push_back(Region{std::string(alloy::metal::buffer_name(b.buffer)) + "[" + std::to_string(b.offset) + ", " +
                                   std::to_string(b.offset + b.bytes) + ")",
                               alloy::metal_emu::AddressSpace::device, data[id] + b.offset, static_cast<size_t>(b.bytes)});
    }
    const Bound bound(i, d, std::move(regions));
    alloy::metal_emu::DispatchConfig config;
    config.threadgroups = uint3_of(d.threadgroups);
    config.threads_per_threadgroup = uint3_of(d.threads_per_threadgroup);
    config.threadgroup_memory.assign(d.threadgroup_memory.begin(), d.threadgroup_memory.end());
    const alloy::metal_emu::DispatchReport report = alloy::metal_emu::dispatch(config, adapter->second(bound));
    if (!report.ok()) fail(i, d, report.summary());
  }

  const uint64_t logits_bytes = plan.buffer_bytes[static_cast<int>(BufferId::logits)];
  std::vector<float> logits(logits_bytes / sizeof(float));
  std::memcpy(logits.data(), data[static_cast<int>(BufferId::logits)], logits_bytes);
  return logits;
}

}  // namespace alloy_test
