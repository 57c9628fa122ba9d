// The engine's Metal path on Linux: Context with the Metal preference runs MetalForward
// (backend/metal/plan/metal_forward.h), whose plans go to a PlanExecutor; here the executor is
// the emulator (metal_plan_runner.h) instead of the macOS host, so everything above the host is
// exercised: backend selection and its fallback reasons, steps split by n_batch and by
// kLogitRows, positions, the KV cache handed to every step (prefix reuse and rewinds), logits
// copied out. Kernel-level agreement with the CPU is test_metal_forward's; this test checks that
// the engine path adds nothing: the same logits as the CPU context within that test's bound.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "metal_plan_runner.h"  // first: see its include of metal_emu.h
#include "check.h"
#include "core/backend_selection.h"
#include "core/context.h"
#include "core/error.h"
#include "core/kv_cache.h"
#include "core/model.h"
#include "backend/metal/plan/metal_forward.h"
#include "metal_plan_models.h"
#include "metal_plan_runner.cpp"

using namespace alloy;

namespace {

constexpr const char* kEmulatorName = "Alloy Metal emulator";
// |metal - cpu| / max|logit|: test_metal_forward's bounds for the same models (the CPU rounds
// attention probabilities to F16, the Metal kernels keep them in float; Q8_0 weights: the CPU
// also quantizes activations to Q8_0 - measured 5.4e-4 and 1.22e-2 there).
constexpr double kF32ModelTolerance = 1e-3;
constexpr double kQ8_0ModelTolerance = 2.5e-2;

// The emulator as the engine's PlanExecutor; counts the steps it ran.
class EmulatorExecutor final : public alloy::metal::PlanExecutor {
 public:
  EmulatorExecutor(const Model& model, int kv_capacity, int* steps) : runner_(model, kv_capacity), steps_(steps) {}

  void run(const alloy::metal::Plan& plan, const alloy::metal::StepInputs& in, alloy::metal::KvMemory kv, float* logits, size_t capacity) override {
    const std::vector<int32_t> ids(in.ids, in.ids + in.n_tokens);
    const std::vector<int32_t> positions(in.positions, in.positions + in.n_tokens);
    const std::vector<float> out = runner_.run_on(plan, ids, positions, kv.data, kv.bytes);
    ++*steps_;
    if (logits == nullptr) return;
    if (out.size() > capacity) throw Error(ErrorKind::internal, "emulated logits do not fit");
    std::memcpy(logits, out.data(), out.size() * sizeof(float));
  }

  alloy::metal::DeviceFacts facts() const override { return {kEmulatorName, true}; }

 private:
  alloy_test::PlanRunner runner_;
  int* steps_;
};

MetalExecutorFactory emulator_factory(int n_ctx, int* steps) {
  return [n_ctx, steps](const Model& model, const std::vector<alloy::metal::Plan>&) {
    return std::make_unique<EmulatorExecutor>(model, KvCache::capacity_for(n_ctx), steps);
  };
}

std::vector<float> eval_copy(Context& ctx, const std::vector<int32_t>& tokens, bool all_logits) {
  return ctx.eval(tokens, all_logits);
}

double relative_diff(const std::vector<float>& a, const std::vector<float>& b) {
  CHECK_EQ(a.size(), b.size());
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    worst = std::max(worst, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return worst / std::max(scale, 1e-30);
}

// A Metal context (emulated) and a CPU one take the same evaluations; every result agrees
// within `tolerance`, and a Metal context rewound with keep_prefix gives bit for bit what a
// fresh Metal context gives.
void compare_engine(const char* what, const Model& model, double tolerance) {
  ContextParams p;
  p.n_ctx = 40;
  p.n_batch = 4;  // a 6-token prompt takes two steps
  p.backend = BackendPreference::metal;
  int steps = 0;
  Context metal_ctx(model, p, emulator_factory(p.n_ctx, &steps));
  CHECK(metal_ctx.backend_report().kind == BackendKind::metal);
  CHECK_EQ(metal_ctx.backend_report().device, std::string(kEmulatorName));
  CHECK(metal_ctx.backend_report().fallback_reason.empty());
  const alloy::metal::StepShape decode{1, 0, KvCache::capacity_for(p.n_ctx), false};
  CHECK_EQ(metal_ctx.backend_report().dispatches_per_token, static_cast<int>(alloy::metal::plan_step(model, decode).dispatches.size()));
  p.backend = BackendPreference::cpu;
  Context cpu_ctx(model, p);
  CHECK(cpu_ctx.backend_report().kind == BackendKind::cpu);

  const std::vector<int32_t> prompt = {1, 403, 407, 261, 378, 17};
  double worst = relative_diff(eval_copy(metal_ctx, prompt, false), eval_copy(cpu_ctx, prompt, false));
  CHECK_EQ(steps, 2);
  for (const int32_t id : {432, 383, 286}) {
    worst = std::max(worst, relative_diff(eval_copy(metal_ctx, {id}, false), eval_copy(cpu_ctx, {id}, false)));
  }
  // Rewind into the prompt and evaluate a different continuation with every row's logits.
  metal_ctx.keep_prefix(4);
  cpu_ctx.keep_prefix(4);
  const std::vector<int32_t> rest = {300, 301, 302, 303, 304};
  const std::vector<float> metal_rows = eval_copy(metal_ctx, rest, true);
  worst = std::max(worst, relative_diff(metal_rows, eval_copy(cpu_ctx, rest, true)));
  std::printf("  %s: worst |metal - cpu| / max|logit| through the engine = %.3g (tolerance %.3g)\n", what, worst, tolerance);
  CHECK(worst <= tolerance);
  CHECK_EQ(metal_ctx.n_past(), 9);

  p.backend = BackendPreference::metal;
  Context fresh(model, p, emulator_factory(p.n_ctx, &steps));
  std::vector<int32_t> same = {prompt[0], prompt[1], prompt[2], prompt[3]};
  eval_copy(fresh, same, false);
  CHECK(eval_copy(fresh, rest, true) == metal_rows);
}

}  // namespace

TEST_CASE("engine on Metal (emulated): stories260K through Context matches the CPU context, rewinds included") {
  const std::shared_ptr<const Model> model = Model::open(alloy_test::shared_models_dir() + "/stories260K.gguf");
  compare_engine("stories260K F32", *model, kF32ModelTolerance);
}

TEST_CASE("engine on Metal (emulated): a random qwen2 Q8_0 model through Context matches the CPU context") {
  const auto model = alloy_test::random_plan_model("engine_q8_0", alloy_test::small_qwen2(GgmlType::Q8_0, 2));
  compare_engine("qwen2 Q8_0", *model, kQ8_0ModelTolerance);
}

TEST_CASE("backend selection: the CPU when asked or when Metal cannot run, with the reason") {
  const std::shared_ptr<const Model> model = Model::open(alloy_test::shared_models_dir() + "/stories260K.gguf");
  int steps = 0;
  ContextParams p;
  p.n_ctx = 16;

  p.backend = BackendPreference::cpu;
  Context cpu(*model, p, emulator_factory(p.n_ctx, &steps));
  CHECK(cpu.backend_report().kind == BackendKind::cpu);
  CHECK(cpu.backend_report().fallback_reason.empty());  // Metal was not wanted
  CHECK(!cpu.backend_report().device.empty());          // the SIMD level

  // This build (Linux) has no Metal host: auto and metal both run on the CPU and say why.
  for (const BackendPreference preference : {BackendPreference::automatic, BackendPreference::metal}) {
    p.backend = preference;
    Context ctx(*model, p);
    CHECK(ctx.backend_report().kind == BackendKind::cpu);
    CHECK(ctx.backend_report().fallback_reason.find("no Metal backend") != std::string::npos);
  }

  p.backend = BackendPreference::automatic;
  p.kv_type = KvType::f32;
  Context f32(*model, p, emulator_factory(p.n_ctx, &steps));
  CHECK(f32.backend_report().kind == BackendKind::cpu);
  CHECK(f32.backend_report().fallback_reason.find("F16") != std::string::npos);
  p.kv_type = KvType::f16;

  p.faults.drop_qkv_bias = true;
  Context faulty(*model, p, emulator_factory(p.n_ctx, &steps));
  CHECK(faulty.backend_report().kind == BackendKind::cpu);
  CHECK(faulty.backend_report().fallback_reason.find("faults") != std::string::npos);
  p.faults = DebugFaults{};

  // The executor cannot start (no GPU, a kernel that does not compile): its words are kept.
  const MetalExecutorFactory failing = [](const Model&, const std::vector<alloy::metal::Plan>&) -> std::unique_ptr<alloy::metal::PlanExecutor> {
    throw Error(ErrorKind::backend_unavailable, "the Metal kernels did not build: kernel_x: syntax error");
  };
  Context fallback(*model, p, failing);
  CHECK(fallback.backend_report().kind == BackendKind::cpu);
  CHECK_EQ(fallback.backend_report().fallback_reason, std::string("the Metal kernels did not build: kernel_x: syntax error"));
  CHECK_EQ(eval_copy(fallback, {1, 2, 3}, false).size(), static_cast<size_t>(model->hparams().n_vocab));
  CHECK_EQ(steps, 0);  // no emulated step ran for any of these contexts
}

TEST_CASE("backend preference names") {
  CHECK(backend_preference_from_name("auto") == BackendPreference::automatic);
  CHECK(backend_preference_from_name("cpu") == BackendPreference::cpu);
  CHECK(backend_preference_from_name("metal") == BackendPreference::metal);
  CHECK(!backend_preference_from_name("gpu").has_value());
  for (const BackendPreference p : {BackendPreference::automatic, BackendPreference::cpu, BackendPreference::metal}) {
    CHECK(backend_preference_from_name(backend_preference_name(p)) == p);
  }
  CHECK_EQ(std::string(backend_kind_name(BackendKind::metal)), std::string("metal"));
}
