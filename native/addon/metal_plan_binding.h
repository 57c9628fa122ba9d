// metalPlan(model, {nTokens?, pos0?, kvCapacity?, allLogits?}): the Metal backend's dispatch
// plan for one step of `model` (backend/metal/plan/forward_plan.h), computed on any platform,
// for the benchmark (dispatches per decoded token) and diagnostics. Returns
// { dispatches, per_layer: number[], pipelines: string[] } after check_plan; throws the typed
// error of plan_step (unsupported_tensor_type, invalid_argument).
#pragma once

#include <napi.h>

namespace alloy_addon {

Napi::Value metal_plan_js(const Napi::CallbackInfo& info);

}  // namespace alloy_addon
