// Where a dispatch plan runs: the Metal host on macOS (host/metal_executor.h) or, in the tests,
// the emulator (tests/emu_plan_executor.h). metal_forward.h builds the plans and calls this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "backend/metal/plan/forward_plan.h"

namespace alloy::metal {

// The memory of one sequence's KV cache (core/kv_cache.h: layer l's K at kv_layer_offset, its
// transposed V right after), which the plan's kv bindings address.
struct KvMemory {
  uint8_t* data = nullptr;
  uint64_t bytes = 0;
};

// A step's host inputs: n_tokens ids and cache positions.
struct StepInputs {
  const int32_t* ids = nullptr;
  const int32_t* positions = nullptr;
  int n_tokens = 0;
};

struct DeviceFacts {
  std::string name;          // "Apple M2 Pro", or the emulator's name
  bool unified_memory = false;
};

class PlanExecutor {
 public:
  virtual ~PlanExecutor() = default;

  // Runs every dispatch of `plan` in order and waits for them. Copies the plan's logits buffer
  // (buffer_bytes[logits] / 4 floats) to `logits` unless it is null; throws Error(internal)
  // when that is more than logits_capacity floats, Error(backend_unavailable) with the
  // device's reason when the GPU fails the step.
  virtual void run(const Plan& plan, const StepInputs& inputs, KvMemory kv, float* logits, size_t logits_capacity) = 0;

  virtual DeviceFacts facts() const = 0;
};

}  // namespace alloy::metal
