// Module entry of alloy.node: the Model, Context, Engine and Sampler classes, loadModel, the random-model writer,
// the memory-bandwidth probe and the Metal dispatch plan used by tests and benchmarks, and build facts for
// diagnostics.
#include <napi.h>

#include "addon_data.h"
#include "backend/cpu/cpu_features.h"
#include "bandwidth_probe.h"
#include "context_handle.h"
#include "engine_handle.h"
#include "metal_plan_binding.h"
#include "model_loader.h"
#include "model_handle.h"
#include "sampler_handle.h"
#include "writer_binding.h"

namespace alloy_addon {

namespace {

constexpr const char* kEngineVersion = "0.1.0";

// The kernels' SIMD level in use (first) and the CPU's relevant extensions, detected at run time.
Napi::Array cpu_features(const Napi::Env& env) {
  std::vector<std::string_view> features{alloy::cpu::simd_level_name(alloy::cpu::active_simd_level())};
  for (std::string_view flag : alloy::cpu::cpu_flags()) features.push_back(flag);
  Napi::Array out = Napi::Array::New(env, features.size());
  for (size_t i = 0; i < features.size(); ++i) out.Set(static_cast<uint32_t>(i), std::string(features[i]));
  return out;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();  // owned by the environment (freed at its teardown)
  const Napi::Function model_class = ModelHandle::define(env);
  data->model_class = Napi::Persistent(model_class);
  env.SetInstanceData(data);
  exports.Set("Model", model_class);
  exports.Set("loadModel", Napi::Function::New(env, load_model_js, "loadModel"));
  exports.Set("Context", ContextHandle::define(env));
  exports.Set("Engine", EngineHandle::define(env));
  exports.Set("Sampler", SamplerHandle::define(env));
  exports.Set("writeRandomModel", Napi::Function::New(env, write_random_model_js, "writeRandomModel"));
  exports.Set("measureReadBandwidth", Napi::Function::New(env, measure_read_bandwidth_js, "measureReadBandwidth"));
  exports.Set("metalPlan", Napi::Function::New(env, metal_plan_js, "metalPlan"));
  exports.Set("engineVersion", Napi::String::New(env, kEngineVersion));
  exports.Set("cpuFeatures", cpu_features(env));
  return exports;
}

}  // namespace

}  // namespace alloy_addon

static Napi::Object init_alloy_module(Napi::Env env, Napi::Object exports) { return alloy_addon::init(env, exports); }

NODE_API_MODULE(alloy, init_alloy_module)
