// Module entry of alloy.node: the Model, Context and Sampler classes, the random-model writer
// used by tests and benchmarks, and build facts for diagnostics.
#include <napi.h>

#include "context_handle.h"
#include "model_handle.h"
#include "sampler_handle.h"
#include "writer_binding.h"

namespace alloy_addon {

namespace {

constexpr const char* kEngineVersion = "0.1.0";

Napi::Array cpu_features(const Napi::Env& env) {
  std::vector<const char*> features;
#if defined(__AVX2__)
  features.push_back("avx2");
#endif
#if defined(__FMA__)
  features.push_back("fma");
#endif
#if defined(__F16C__)
  features.push_back("f16c");
#endif
#if defined(__ARM_NEON)
  features.push_back("neon");
#endif
  Napi::Array out = Napi::Array::New(env, features.size());
  for (size_t i = 0; i < features.size(); ++i) out.Set(static_cast<uint32_t>(i), features[i]);
  return out;
}

Napi::Object init(Napi::Env env, Napi::Object exports) {
  const Napi::Function model_class = ModelHandle::define(env);
  exports.Set("Model", model_class);
  exports.Set("Context", ContextHandle::define(env, model_class));
  exports.Set("Sampler", SamplerHandle::define(env));
  exports.Set("writeRandomModel", Napi::Function::New(env, write_random_model_js, "writeRandomModel"));
  exports.Set("engineVersion", Napi::String::New(env, kEngineVersion));
  exports.Set("cpuFeatures", cpu_features(env));
  return exports;
}

}  // namespace

}  // namespace alloy_addon

static Napi::Object init_alloy_module(Napi::Env env, Napi::Object exports) { return alloy_addon::init(env, exports); }

NODE_API_MODULE(alloy, init_alloy_module)
