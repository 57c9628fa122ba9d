// Creates the compute backend for evaluating a model: sized for its widest matrices, the
// batch size and the KV capacity every cache it will be given has.
#pragma once

#include <memory>
#include <optional>

#include "backend/backend.h"
#include "ggml_type.h"
#include "model.h"

namespace alloy {

struct BackendSizing {
  int n_threads = 1;
  int max_tokens = 1;  // the largest batch evaluated at once
  int max_kv = 0;      // KvLayerView::capacity of the caches
  std::optional<GgmlType> wrong_block_scale_type;  // test-only fault (DebugFaults)
};

// The engine's limit on threads per backend.
constexpr int kMaxThreads = 256;

// Throws Error(invalid_argument) naming the first size out of range.
void validate_eval_sizes(int n_ctx, int n_threads, int n_batch);

// Throws Error(unsupported_tensor_type) for a weight type without a kernel,
// std::system_error when a worker thread cannot start.
std::unique_ptr<Backend> create_backend(const Model& model, const BackendSizing& sizing);

}  // namespace alloy
