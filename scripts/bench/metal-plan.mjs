// The Metal backend's planned dispatches for one decoded token of a model (the addon's
// metalPlan: native/backend/metal/plan/forward_plan.h, the plan the macOS host encodes),
// computed on any platform:
//   metal_dispatches_per_token   the plan's dispatch count (token at position 64, cache 1280)
//   metal_dispatches_per_layer   the count of one layer
//   metal_dispatches_target      issue 8's bound: 6 per layer + 4
// A model the plan refuses (a weight type without a Metal kernel) reports null and the reason.
export function metalPlanFigures(addon, file) {
  const model = new addon.Model(file);
  try {
    const plan = addon.metalPlan(model, { nTokens: 1, pos0: 64, kvCapacity: 1280 });
    return {
      metal_dispatches_per_token: plan.dispatches,
      metal_dispatches_per_layer: plan.per_layer[0] ?? 0,
      metal_dispatches_target: 6 * plan.per_layer.length + 4,
    };
  } catch (e) {
    return { metal_dispatches_per_token: null, metal_plan_error: String(e?.message ?? e) };
  } finally {
    model.close();
  }
}
