// The bridge from the dispatch plan (backend/metal/plan/forward_plan.h, C++) to the Metal
// host's plain C structs (metal_host.h): pipeline names become indices into the list the host
// created its pipelines from, BufferIds become host buffer ids, and every value the host
// checks only at run time (slots, args size, threadgroup memory granules, offset alignment) is
// checked here, on every platform, so the Objective-C++ host stays a thin loop.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "backend/metal/host/metal_host.h"
#include "backend/metal/plan/forward_plan.h"

namespace alloy::metal {

// The host buffer id of each BufferId (index: static_cast<int>(BufferId)).
using HostBufferIds = std::array<uint32_t, kBufferCount>;
// BufferId b -> host buffer id b.
HostBufferIds identity_buffer_ids();

// Appends to `names` the pipelines of `plan` it lacks, in first-use order: build the list from
// every plan a context will run (decode and prefill) before creating the pipelines.
void add_pipelines(const Plan& plan, std::vector<std::string>& names);

// A plan as metal_host.h structs. dispatches[i].args / bindings / threadgroup_memory point
// into this object's own vectors: move-only, so the pointers stay valid (a moved vector keeps
// its storage); never copied.
class EncodedPlan {
 public:
  EncodedPlan() = default;
  EncodedPlan(EncodedPlan&&) = default;
  EncodedPlan& operator=(EncodedPlan&&) = default;
  EncodedPlan(const EncodedPlan&) = delete;
  EncodedPlan& operator=(const EncodedPlan&) = delete;

  const std::vector<AlloyMetalDispatch>& dispatches() const { return dispatches_; }

 private:
  friend EncodedPlan encode_plan(const Plan& plan, const std::vector<std::string>& pipelines, const HostBufferIds& buffers);
  std::vector<AlloyMetalDispatch> dispatches_;
  std::vector<uint8_t> args_;
  std::vector<AlloyMetalBinding> bindings_;
  std::vector<uint32_t> threadgroup_memory_;
};

// Converts every dispatch of `plan`, in order. Throws Error(internal) for a pipeline missing
// from `pipelines`, a host buffer id >= kAlloyMetalMaxBuffers, a slot 0 binding (slot 0 holds
// the args) or one >= kAlloyMetalMaxSlots, args over kAlloyMetalMaxArgsBytes, a threadgroup
// memory length that is not a multiple of 16, or a binding offset that is not 4-byte aligned.
EncodedPlan encode_plan(const Plan& plan, const std::vector<std::string>& pipelines, const HostBufferIds& buffers);

// The names as the const char* array alloy_metal_create_pipelines takes (pointing into `names`).
std::vector<const char*> pipeline_name_pointers(const std::vector<std::string>& names);

}  // namespace alloy::metal
