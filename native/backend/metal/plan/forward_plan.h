// The Metal backend's dispatch plan for one evaluation step of the forward pass: which kernels
// run, in which order, on which grid, with which arguments and buffer bindings. The host
// (Objective-C++, macOS only) encodes exactly this list into one command buffer; on Linux the
// tests check it (grids cover every row, every binding lies inside its buffer, each dispatch
// reads only what earlier ones wrote) and the bench reports its dispatches per token.
//
// Per layer, six dispatches: Q/K/V (input RMSNorm fused, biases), RoPE of Q and K with K and V
// stored into the F16 cache, attention, Wo adding into the residual stream, gate/up (input
// RMSNorm fused, SwiGLU), down adding into the residual. Per step two more: the embedding rows
// and the output matmul (final RMSNorm fused). Layers whose Q, K and V weights differ in type
// (some Q4_K_M layers) take three Q/K/V dispatches.
// Prompt steps of kargs::kMatMulMinTokens tokens or more take the SIMD-group matrix kernels
// (kernel_mm_<type>, no fused norm): per layer twelve dispatches, RMSNorm, Q, K and V (biases
// fused), RoPE + cache store, attention, Wo adding into the residual, RMSNorm, gate, up,
// SwiGLU, down adding into the residual; the output matmul likewise when that many rows of
// logits are wanted. Decode steps are unchanged by this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/model.h"

namespace alloy::metal {

// The buffers a step binds. weights: the whole mapped GGUF file (offsets are file offsets);
// kv: every layer's F16 K and V (kv_layer_offset); the rest are per-context scratch.
enum class BufferId : uint8_t { weights, ids, positions, x, q, k, v, attn, ffn, logits, kv };
constexpr int kBufferCount = 11;
const char* buffer_name(BufferId id);

enum class Access : uint8_t { read, write, read_write };

struct Binding {
  uint32_t slot = 0;  // [[buffer(slot)]]
  BufferId buffer = BufferId::weights;
  uint64_t offset = 0;
  uint64_t bytes = 0;  // the range the kernel may touch from offset
  Access access = Access::read;
};

struct Grid {
  uint32_t x = 1, y = 1, z = 1;
};

struct Dispatch {
  std::string pipeline;                      // the kernel's [[host_name]]
  int layer = -1;                            // -1: not a layer's
  Grid threadgroups, threads_per_threadgroup;
  std::vector<uint8_t> args;                 // the kargs struct, bound at slot 0 (setBytes)
  std::vector<Binding> bindings;
  std::vector<uint32_t> threadgroup_memory;  // bytes of [[threadgroup(i)]]
};

struct StepShape {
  int n_tokens = 1;
  int pos0 = 0;          // cache position of the first token
  int kv_capacity = 0;   // positions of the KV cache (a V channel row)
  bool all_logits = false;  // logits for every token, else for the last
};

struct Plan {
  std::vector<Dispatch> dispatches;
  uint64_t buffer_bytes[kBufferCount] = {};  // the size each buffer needs for this step
};

// Bytes from the start of the kv buffer to layer `layer`'s K (its V follows K).
uint64_t kv_layer_offset(const HyperParams& hp, int kv_capacity, int layer);

// The plan of one step. Throws Error(unsupported_tensor_type) for a weight type without a
// Metal kernel, Error(invalid_argument) for a step that does not fit the cache.
Plan plan_step(const Model& model, const StepShape& step);

// Throws Error(internal) when a binding reaches past buffer_bytes or a dispatch reads a buffer
// range that no earlier dispatch (or the host: weights, ids, positions, kv) has written.
void check_plan(const Plan& plan);

}  // namespace alloy::metal
