#include "backend/metal/plan/metal_forward.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace alloy::metal {

namespace {

void check_sizing(const MetalSizing& sizing) {
  if (sizing.n_batch < 1 || sizing.kv_capacity < 1) {
    throw Error(ErrorKind::invalid_argument, "Metal forward pass: n_batch and kv_capacity must be at least 1");
  }
}

StepShape shape(int n_tokens, int kv_capacity, bool all_logits) {
  StepShape s;
  s.n_tokens = n_tokens;
  s.pos0 = 0;
  s.kv_capacity = kv_capacity;
  s.all_logits = all_logits;
  return s;
}

}  // namespace

std::vector<Plan> representative_plans(const Model& model, const MetalSizing& sizing) {
  check_sizing(sizing);
  const int longest = std::min(sizing.n_batch, sizing.kv_capacity);
  const int logit_rows = std::min(longest, kLogitRows);
  std::vector<int> lengths = {1, std::min(2, longest), longest};
  std::vector<Plan> plans;
  for (const int n : lengths) plans.push_back(plan_step(model, shape(n, sizing.kv_capacity, false)));
  plans.push_back(plan_step(model, shape(logit_rows, sizing.kv_capacity, true)));
  return plans;
}

MetalForward::MetalForward(const Model& model, const MetalSizing& sizing, std::unique_ptr<PlanExecutor> executor)
    : model_(model), sizing_(sizing), executor_(std::move(executor)) {
  check_sizing(sizing_);
  if (!executor_) throw Error(ErrorKind::internal, "Metal forward pass without an executor");
  positions_.resize(static_cast<size_t>(sizing_.n_batch));
}

void MetalForward::eval(KvCache& cache, const int32_t* tokens, int n, bool all_logits, float* logits,
                        const Interrupter* interrupter) {
  const KvLayerView first = cache.layer(0);
  if (cache.type() != KvType::f16 || first.capacity != sizing_.kv_capacity) {
    throw Error(ErrorKind::invalid_argument, "the Metal forward pass needs an F16 KV cache of capacity " +
                                                 std::to_string(sizing_.kv_capacity));
  }
  const KvMemory kv{first.k, cache.bytes()};
  const size_t n_vocab = static_cast<size_t>(model_.hparams().n_vocab);
  const int step_tokens = all_logits ? std::min(sizing_.n_batch, kLogitRows) : sizing_.n_batch;
  for (int start = 0, count = 0; start < n; start += count) {
    // A step is one command buffer: it cannot stop half way, so the interrupter is asked before.
    if (interrupter && interrupter->interrupted()) throw Interrupted();
    count = next_step_size(n - start, step_tokens);
    StepShape step = shape(count, sizing_.kv_capacity, all_logits);
    step.pos0 = cache.n_filled();
    for (int t = 0; t < count; ++t) positions_[static_cast<size_t>(t)] = step.pos0 + t;
    // DEBT: the plan is rebuilt each step (a few hundred small vectors, microseconds next to the
    // GPU work); caching the decode plan and patching its positions would remove that.
    // DEBT: a step whose logits nobody wants (an early prompt chunk) still runs the output
    // matmul for its last token; a plan without logits would skip it.
    const Plan plan = plan_step(model_, step);
    float* out = nullptr;
    size_t capacity = 0;
    if (all_logits && logits != nullptr) {
      out = logits + static_cast<size_t>(start) * n_vocab;
      capacity = static_cast<size_t>(count) * n_vocab;
    } else if (start + count == n && logits != nullptr) {
      out = logits;
      capacity = n_vocab;
    }
    executor_->run(plan, StepInputs{tokens + start, positions_.data(), count}, kv, out, capacity);
    cache.commit(count);
  }
}

}  // namespace alloy::metal
