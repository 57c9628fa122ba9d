#include "backend/metal/host/plan_encoding.h"

#include <algorithm>

#include "core/error.h"

namespace alloy::metal {

namespace {

constexpr uint32_t kThreadgroupMemoryGranule = 16;  // setThreadgroupMemoryLength:atIndex: needs multiples of 16
constexpr uint64_t kOffsetAlignment = 4;            // device buffers: offsets aligned to the kernels' 4-byte types

[[noreturn]] void fail(size_t index, const Dispatch& d, const std::string& what) {
  throw Error(ErrorKind::internal, "Metal plan encoding: dispatch " + std::to_string(index) + " (" + d.pipeline + "): " + what);
}

uint32_t pipeline_index(size_t index, const Dispatch& d, const std::vector<std::string>& pipelines) {
  const auto it = std::find(pipelines.begin(), pipelines.end(), d.pipeline);
  if (it == pipelines.end()) fail(index, d, "pipeline not in the context's list");
  return static_cast<uint32_t>(it - pipelines.begin());
}

// Sizes of the pooled arrays, so that they are allocated once and never move while filled.
struct Totals {
  size_t args = 0, bindings = 0, threadgroup_memory = 0;
};

Totals totals(const Plan& plan) {
  Totals t;
  for (const Dispatch& d : plan.dispatches) {
    t.args += d.args.size();
    t.bindings += d.bindings.size();
    t.threadgroup_memory += d.threadgroup_memory.size();
  }
  return t;
}

}  // namespace

HostBufferIds identity_buffer_ids() {
  HostBufferIds ids{};
  for (int b = 0; b < kBufferCount; ++b) ids[static_cast<size_t>(b)] = static_cast<uint32_t>(b);
  return ids;
}

void add_pipelines(const Plan& plan, std::vector<std::string>& names) {
  for (const Dispatch& d : plan.dispatches) {
    if (std::find(names.begin(), names.end(), d.pipeline) == names.end()) names.push_back(d.pipeline);
  }
}

EncodedPlan encode_plan(const Plan& plan, const std::vector<std::string>& pipelines, const HostBufferIds& buffers) {
  EncodedPlan out;
  const Totals t = totals(plan);
  out.args_.reserve(t.args);
  out.bindings_.reserve(t.bindings);
  out.threadgroup_memory_.reserve(t.threadgroup_memory);
  out.dispatches_.reserve(plan.dispatches.size());
  for (size_t i = 0; i < plan.dispatches.size(); ++i) {
    const Dispatch& d = plan.dispatches[i];
    if (d.args.size() > kAlloyMetalMaxArgsBytes) fail(i, d, "args larger than setBytes allows");
    AlloyMetalDispatch c{};
    c.pipeline = pipeline_index(i, d, pipelines);
    c.threadgroups[0] = d.threadgroups.x;
    c.threadgroups[1] = d.threadgroups.y;
    c.threadgroups[2] = d.threadgroups.z;
    c.threads_per_threadgroup[0] = d.threads_per_threadgroup.x;
    c.threads_per_threadgroup[1] = d.threads_per_threadgroup.y;
    c.threads_per_threadgroup[2] = d.threads_per_threadgroup.z;
    c.args = out.args_.data() + out.args_.size();
    c.args_bytes = static_cast<uint32_t>(d.args.size());
    out.args_.insert(out.args_.end(), d.args.begin(), d.args.end());
    c.bindings = out.bindings_.data() + out.bindings_.size();
    c.n_bindings = static_cast<uint32_t>(d.bindings.size());
    for (const Binding& b : d.bindings) {
      const uint32_t id = buffers[static_cast<size_t>(b.buffer)];
      if (b.slot == 0 || b.slot >= kAlloyMetalMaxSlots) fail(i, d, "slot " + std::to_string(b.slot) + " outside 1.." + std::to_string(kAlloyMetalMaxSlots - 1));
      if (id >= kAlloyMetalMaxBuffers) fail(i, d, std::string("host buffer id of ") + buffer_name(b.buffer) + " out of range");
      if (b.offset % kOffsetAlignment != 0) fail(i, d, std::string("unaligned offset into ") + buffer_name(b.buffer));
      out.bindings_.push_back(AlloyMetalBinding{b.slot, id, b.offset});
    }
    c.threadgroup_memory = out.threadgroup_memory_.data() + out.threadgroup_memory_.size();
    c.n_threadgroup_memory = static_cast<uint32_t>(d.threadgroup_memory.size());
    for (uint32_t bytes : d.threadgroup_memory) {
      if (bytes % kThreadgroupMemoryGranule != 0) fail(i, d, "threadgroup memory not a multiple of 16 bytes");
      out.threadgroup_memory_.push_back(bytes);
    }
    out.dispatches_.push_back(c);
  }
  return out;
}

std::vector<const char*> pipeline_name_pointers(const std::vector<std::string>& names) {
  std::vector<const char*> pointers;
  pointers.reserve(names.size());
  for (const std::string& n : names) pointers.push_back(n.c_str());
  return pointers;
}

}  // namespace alloy::metal
