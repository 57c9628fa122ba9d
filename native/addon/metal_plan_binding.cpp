#include "metal_plan_binding.h"

#include <string>
#include <vector>

#include "backend/metal/plan/forward_plan.h"
#include "js_errors.h"
#include "js_values.h"
#include "model_handle.h"

namespace alloy_addon {

Napi::Value metal_plan_js(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    ModelHandle& handle = ModelHandle::unwrap(env, info[0], "metalPlan's model");
    const ModelParts parts = handle.engine_parts(env);
    const std::string what = "metalPlan options";
    const Napi::Object options = options_object(env, info[1], what);
    check_known_keys(env, options, {"nTokens", "pos0", "kvCapacity", "allLogits"}, what);
    constexpr double kMaxPositions = 1 << 24;
    alloy::metal::StepShape step;
    step.n_tokens = int_option(env, options, "nTokens", 1, 1, kMaxPositions, what);
    step.pos0 = int_option(env, options, "pos0", 0, 0, kMaxPositions, what);
    step.kv_capacity = int_option(env, options, "kvCapacity", 0, 0, kMaxPositions, what);
    step.all_logits = bool_option(env, options, "allLogits", false, what);
    if (step.kv_capacity == 0) step.kv_capacity = step.pos0 + step.n_tokens;
    const alloy::metal::Plan plan = alloy::metal::plan_step(*parts.model, step);
    alloy::metal::check_plan(plan);
    const int n_layer = parts.model->hparams().n_layer;
    Napi::Array per_layer = Napi::Array::New(env, static_cast<size_t>(n_layer));
    std::vector<uint32_t> counts(static_cast<size_t>(n_layer), 0);
    Napi::Array pipelines = Napi::Array::New(env, plan.dispatches.size());
    for (size_t i = 0; i < plan.dispatches.size(); ++i) {
      const alloy::metal::Dispatch& d = plan.dispatches[i];
      pipelines.Set(static_cast<uint32_t>(i), d.pipeline);
      if (d.layer >= 0) ++counts[static_cast<size_t>(d.layer)];
    }
    for (size_t l = 0; l < counts.size(); ++l) per_layer.Set(static_cast<uint32_t>(l), counts[l]);
    Napi::Object out = Napi::Object::New(env);
    out.Set("dispatches", static_cast<double>(plan.dispatches.size()));
    out.Set("per_layer", per_layer);
    out.Set("pipelines", pipelines);
    return out;
  });
}

}  // namespace alloy_addon
