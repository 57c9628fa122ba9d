// The forward pass on Metal: StepEvaluator over dispatch plans. Each step of up to n_batch
// tokens is one plan (forward_plan.h) run by a PlanExecutor, reading the weights from the
// mapped model file and writing K and V straight into the sequence's KvCache memory (the
// same layout as the CPU backend, F16 only), so slots, prefix reuse and rewinds work exactly
// as on the CPU.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/metal/plan/plan_executor.h"
#include "core/model.h"
#include "core/step_evaluator.h"

namespace alloy::metal {

// Tokens whose logits one all_logits step returns: longer all_logits evaluations take several
// steps, so the logits buffer stays kLogitRows x n_vocab floats.
constexpr int kLogitRows = 32;

struct MetalSizing {
  int n_batch = 1;      // the most tokens in one step
  int kv_capacity = 0;  // KvCache::capacity_for(n_ctx) of every cache it is given
};

// The plans a context runs (decode, short and long prompt steps, with one or kLogitRows logits
// rows), the decode plan first: what the executor creates pipelines and sizes buffers from, at
// load. Throws
// Error(unsupported_tensor_type) for a weight type without a Metal kernel.
std::vector<Plan> representative_plans(const Model& model, const MetalSizing& sizing);

class MetalForward final : public StepEvaluator {
 public:
  // The model must outlive this. Throws Error(invalid_argument) for sizes < 1.
  MetalForward(const Model& model, const MetalSizing& sizing, std::unique_ptr<PlanExecutor> executor);

  int n_batch() const override { return sizing_.n_batch; }
  // StepEvaluator::eval; the interrupter is asked between steps (a step is one GPU command
  // buffer). Throws Error(invalid_argument) for a cache that is not F16 or has another
  // capacity than sizing.kv_capacity.
  void eval(KvCache& cache, const int32_t* tokens, int n, bool all_logits, float* logits,
            const Interrupter* interrupter = nullptr) override;

  const PlanExecutor& executor() const { return *executor_; }

 private:
  const Model& model_;
  MetalSizing sizing_;
  std::unique_ptr<PlanExecutor> executor_;
  std::vector<int32_t> positions_;  // n_batch, reused every step
};

}  // namespace alloy::metal
