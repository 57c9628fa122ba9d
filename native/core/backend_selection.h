// Which backend evaluates a model: Metal when this build has it, the GPU starts and every weight
// type has a Metal kernel; the CPU otherwise. A preference (the `alloy.engine.backend` setting) can
// force either; when Metal is wanted but cannot run, the CPU takes over and the report says why.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "backend/backend.h"
#include "backend/metal/plan/plan_executor.h"
#include "forward.h"
#include "model.h"
#include "model_backend.h"
#include "step_evaluator.h"

namespace alloy {

enum class BackendPreference { automatic, cpu, metal };
enum class BackendKind { cpu, metal };

// "auto", "cpu", "metal"; nullopt for anything else.
std::optional<BackendPreference> backend_preference_from_name(std::string_view name);
std::string_view backend_preference_name(BackendPreference preference);
std::string_view backend_kind_name(BackendKind kind);

struct BackendReport {
  BackendPreference preference = BackendPreference::automatic;
  BackendKind kind = BackendKind::cpu;
  std::string device;               // CPU: the SIMD level ("avx2", ...); Metal: the GPU's name
  bool unified_memory = false;      // Metal only
  int dispatches_per_token = 0;     // Metal only: the decode plan's dispatches
  std::string fallback_reason;      // why Metal is not in use although the preference allowed it
};

// Makes the Metal executor for a model (sized for its plans), or throws
// Error(backend_unavailable) with the reason. Tests pass the emulator's.
using MetalExecutorFactory =
    std::function<std::unique_ptr<metal::PlanExecutor>(const Model& model, const std::vector<metal::Plan>& plans)>;

// The factory of this build: the Metal host's on macOS arm64 builds, empty elsewhere.
MetalExecutorFactory build_metal_executor_factory();

struct EvaluatorConfig {
  BackendSizing sizing;                  // CPU threads, batch, KV capacity, test faults
  KvType kv_type = KvType::f16;
  BackendPreference preference = BackendPreference::automatic;
  MetalExecutorFactory metal_factory = build_metal_executor_factory();
};

struct Evaluator {
  std::unique_ptr<Backend> cpu_backend;  // null on Metal
  std::unique_ptr<StepEvaluator> step;
  BackendReport report;
};

// Chooses and creates the evaluator. `faults` exist on the CPU path only (any fault set keeps
// the CPU). Throws what create_backend
// throws when the CPU path is taken; Metal failures never throw (they become fallback_reason).
Evaluator create_evaluator(const Model& model, const EvaluatorConfig& config, const DebugFaults& faults);

}  // namespace alloy
