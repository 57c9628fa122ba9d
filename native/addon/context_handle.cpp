#include "context_handle.h"

#include <cmath>
#include <string>
#include <vector>

#include "js_errors.h"
#include "js_values.h"
#include "model_handle.h"

namespace alloy_addon {

namespace {

constexpr double kMaxInt = 2147483647.0;

alloy::DebugFaults read_faults(const Napi::Env& env, const Napi::Value& value) {
  const std::string what = "new Context faults";
  const Napi::Object o = options_object(env, value, what);
  check_known_keys(env, o, {"normalRopeInsteadOfNeox", "dropQkvBias", "kvPositionOffByOne", "skipNormWeight", "wrongBlockScaleType"},
                   what);
  alloy::DebugFaults f;
  f.normal_rope_instead_of_neox = bool_option(env, o, "normalRopeInsteadOfNeox", false, what);
  f.drop_qkv_bias = bool_option(env, o, "dropQkvBias", false, what);
  f.kv_position_off_by_one = bool_option(env, o, "kvPositionOffByOne", false, what);
  f.skip_norm_weight = bool_option(env, o, "skipNormWeight", false, what);
  f.wrong_block_scale_type = string_option(env, o, "wrongBlockScaleType", "", what);
  return f;
}

alloy::ContextParams read_params(const Napi::Env& env, const Napi::Value& value) {
  const std::string what = "new Context(model, options)";
  const Napi::Object o = options_object(env, value, what);
  check_known_keys(env, o, {"nCtx", "threads", "kvType", "nBatch", "faults"}, what);
  alloy::ContextParams p;
  p.n_ctx = int_option(env, o, "nCtx", p.n_ctx, 1, kMaxInt, what);
  p.n_threads = int_option(env, o, "threads", p.n_threads, 1, kMaxInt, what);
  p.n_batch = int_option(env, o, "nBatch", p.n_batch, 1, kMaxInt, what);
  p.kv_type = read_kv_type(env, o, what);
  p.faults = read_faults(env, o.Get("faults"));
  return p;
}

}  // namespace

Napi::Function ContextHandle::define(Napi::Env env) {
  return DefineClass(env, "Context",
                     {
                         InstanceMethod("eval", &ContextHandle::eval),
                         InstanceAccessor("nPast", &ContextHandle::n_past, nullptr),
                         InstanceMethod("keepPrefix", &ContextHandle::keep_prefix),
                         InstanceMethod("dispose", &ContextHandle::dispose),
                     });
}

ContextHandle::ContextHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ContextHandle>(info) {
  const Napi::Env env = info.Env();
  ModelHandle& model = ModelHandle::unwrap(env, info.Length() > 0 ? info[0] : env.Undefined(), "new Context(model, options): model");
  const alloy::ContextParams params = read_params(env, info.Length() > 1 ? info[1] : env.Undefined());
  construct_or_throw(env, "the context", [&] {
    model_ = model.engine_parts(env).model;
    context_ = std::make_unique<alloy::Context>(*model_, params);
  });
}

alloy::Context& ContextHandle::context(const Napi::Env& env) {
  if (!context_) throw_usage(env, "the context is disposed");
  return *context_;
}

Napi::Value ContextHandle::eval(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    alloy::Context& ctx = context(env);
    if (info.Length() < 1) throw_usage(env, "eval(tokens, allLogits)");
    read_int32_list(env, info[0], "eval(tokens, allLogits): tokens", tokens_);
    const bool all_logits = info.Length() > 1 && info[1].ToBoolean().Value();
    const std::vector<float>& logits = ctx.eval(tokens_, all_logits);
    Napi::Float32Array out = Napi::Float32Array::New(env, logits.size());
    std::copy(logits.begin(), logits.end(), out.Data());
    return out;
  });
}

Napi::Value ContextHandle::n_past(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value { return Napi::Number::New(env, context(env).n_past()); });
}

Napi::Value ContextHandle::keep_prefix(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    alloy::Context& ctx = context(env);
    const double n = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : NAN;
    if (!(std::trunc(n) == n && n >= 0 && n <= 2147483647.0)) throw_usage(env, "keepPrefix(n): n must be a non-negative integer");
    ctx.keep_prefix(static_cast<int>(n));
    return env.Undefined();
  });
}

Napi::Value ContextHandle::dispose(const Napi::CallbackInfo& info) {
  context_.reset();
  model_.reset();
  return info.Env().Undefined();
}

}  // namespace alloy_addon
