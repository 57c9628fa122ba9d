#include "backend_selection.h"

#include <exception>
#include <vector>

#include "backend/cpu/cpu_features.h"
#include "backend/metal/plan/metal_forward.h"
#if defined(ALLOY_HAS_METAL_HOST)
#include "backend/metal/host/metal_executor.h"
#endif

namespace alloy {

std::optional<BackendPreference> backend_preference_from_name(std::string_view name) {
  if (name == "auto") return BackendPreference::automatic;
  if (name == "cpu") return BackendPreference::cpu;
  if (name == "metal") return BackendPreference::metal;
  return std::nullopt;
}

std::string_view backend_preference_name(BackendPreference preference) {
  switch (preference) {
    case BackendPreference::automatic: return "auto";
    case BackendPreference::cpu: return "cpu";
    case BackendPreference::metal: return "metal";
  }
  return "auto";
}

std::string_view backend_kind_name(BackendKind kind) {
  switch (kind) {
    case BackendKind::cpu: return "cpu";
    case BackendKind::metal: return "metal";
  }
  return "cpu";
}

MetalExecutorFactory build_metal_executor_factory() {
#if defined(ALLOY_HAS_METAL_HOST)
  return [](const Model& model, const std::vector<metal::Plan>& plans) { return metal::create_host_executor(model, plans); };
#else
  return {};
#endif
}

namespace {

const char* build_target() {
#if defined(__APPLE__)
  return "macOS on Intel";  // an arm64 Mac build has the Metal host
#elif defined(__linux__) && defined(__x86_64__)
  return "Linux x64";
#elif defined(__linux__) && defined(__aarch64__)
  return "Linux arm64";
#elif defined(_WIN32)
  return "Windows";
#else
  return "this platform";
#endif
}

// Why Metal cannot evaluate with this configuration (empty: it may try), checked before
// anything is created.
std::string metal_refusal(const EvaluatorConfig& config, const DebugFaults& faults) {
  if (!config.metal_factory) {
    return std::string("this build has no Metal backend (Metal runs on macOS on Apple Silicon; this build is for ") +
           build_target() + ")";
  }
  if (config.kv_type != KvType::f16) return "the Metal kernels keep the KV cache in F16, and this context asks for F32";
  if (faults.any()) return "test faults are injected on the CPU path only";
  return {};
}

}  // namespace

Evaluator create_evaluator(const Model& model, const EvaluatorConfig& config, const DebugFaults& faults) {
  Evaluator e;
  e.report.preference = config.preference;
  if (config.preference != BackendPreference::cpu) {
    std::string reason = metal_refusal(config, faults);
    if (reason.empty()) {
      try {
        const metal::MetalSizing sizing{config.sizing.max_tokens, config.sizing.max_kv};
        const std::vector<metal::Plan> plans = metal::representative_plans(model, sizing);
        std::unique_ptr<metal::PlanExecutor> executor = config.metal_factory(model, plans);
        const metal::DeviceFacts facts = executor->facts();
        e.report.kind = BackendKind::metal;
        e.report.device = facts.name;
        e.report.unified_memory = facts.unified_memory;
        e.report.dispatches_per_token = static_cast<int>(plans.front().dispatches.size());
        e.step = std::make_unique<metal::MetalForward>(model, sizing, std::move(executor));
        return e;
      } catch (const std::exception& error) {
        // Unsupported weight types, no GPU, a kernel that fails to compile, too little GPU
        // memory: the CPU takes over and the report keeps Metal's own words.
        reason = error.what();
      }
    }
    e.report.fallback_reason = reason;
  }
  e.cpu_backend = create_backend(model, config.sizing);
  e.step = std::make_unique<ForwardPass>(model, *e.cpu_backend, config.sizing.max_tokens, faults);
  e.report.kind = BackendKind::cpu;
  e.report.device = std::string(cpu::simd_level_name(cpu::active_simd_level()));
  return e;
}

}  // namespace alloy
