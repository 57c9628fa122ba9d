// Test-only: runs a Metal dispatch plan (backend/metal/plan/forward_plan.h) through the
// emulator (backend/metal/emu/), so that a whole forward step of the .metal kernels can be
// compared with the CPU backend on Linux. One byte buffer per BufferId: weights is the model's
// mapped file (read-only: a kernel parameter that may write cannot be bound to it), ids and
// positions come from the caller, kv persists across steps, and the scratch buffers are fresh
// for each step, filled with kScratchPoison so that a read of anything no dispatch wrote shows
// up as NaN. Each dispatch's pipeline name selects an adapter (metal_plan_runner.cpp) that
// calls the kernel function with the args struct, views of the bound ranges (bounds-checked
// against the binding's own [offset, offset + bytes)), the threadgroup memory and the lane's
// attribute values, in the kernel's parameter order - what the macOS host encodes.
//
// The CMake glob builds one executable per tests/test_*.cpp, so the test that uses this
// includes metal_plan_runner.cpp once (it compiles the kernels; nothing else links it).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

// metal_emu.h before anything that declares alloy::metal: its headers name ::metal's types as
// metal::uint3 from inside namespace alloy.
#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/plan/forward_plan.h"
#include "core/model.h"

namespace alloy_test {

constexpr uint8_t kScratchPoison = 0xFF;  // fills scratch and the fresh KV cache: every float and half is then NaN

class PlanRunner {
 public:
  // The model must outlive the runner. kv_capacity: positions of the KV cache (every step's
  // StepShape::kv_capacity must be this).
  PlanRunner(const alloy::Model& model, int kv_capacity);

  // Runs every dispatch of `plan` in order, with ids[t] / positions[t] for the step's tokens,
  // and returns the logits buffer (the plan's logits rows, n_vocab floats each). Throws
  // alloy::Error(internal) naming the dispatch index and pipeline for an unknown pipeline, a
  // binding the kernel cannot take, or any emulator error (out of bounds, barrier, ...).
  std::vector<float> run(const alloy::metal::Plan& plan, const std::vector<int32_t>& ids,
                         const std::vector<int32_t>& positions);

  // run() on the caller's KV cache memory (kv_bytes: the plan's kv buffer size) instead of the
  // runner's own: how the engine's MetalForward hands each sequence's KvCache to a step.
  std::vector<float> run_on(const alloy::metal::Plan& plan, const std::vector<int32_t>& ids,
                            const std::vector<int32_t>& positions, uint8_t* kv, uint64_t kv_bytes);

  int kv_capacity() const { return kv_capacity_; }

 private:
  const alloy::Model& model_;
  int kv_capacity_;
  alloy::metal_emu::AlignedBytes kv_;
};

}  // namespace alloy_test
