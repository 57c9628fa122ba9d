#include "context_handle.h"

#include <cmath>
#include <string>
#include <system_error>
#include <vector>

#include "js_errors.h"
#include "js_values.h"
#include "model_handle.h"

namespace alloy_addon {

namespace {

// The JS Model constructor, kept per environment to check Context's first argument.
// DEBT: this is the addon's only use of napi instance data; a second user must share it.
struct ClassData {
  Napi::FunctionReference model_class;
};

int int_option(const Napi::Env& env, const Napi::Object& o, const char* key, int fallback) {
  if (!o.Has(key) || o.Get(key).IsUndefined()) return fallback;
  const Napi::Value v = o.Get(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(std::trunc(d) == d && d >= 1 && d <= 2147483647.0)) {
    throw_usage(env, std::string("new Context: '") + key + "' must be a positive integer");
  }
  return static_cast<int>(d);
}

bool bool_option(const Napi::Env& env, const Napi::Object& o, const char* key) {
  if (!o.Has(key) || o.Get(key).IsUndefined()) return false;
  const Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) throw_usage(env, std::string("new Context: faults.") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

alloy::DebugFaults read_faults(const Napi::Env& env, const Napi::Value& value) {
  alloy::DebugFaults f;
  if (value.IsUndefined()) return f;
  if (!value.IsObject() || value.IsArray()) throw_usage(env, "new Context: 'faults' must be an object");
  const Napi::Object o = value.As<Napi::Object>();
  check_known_keys(env, o, {"normalRopeInsteadOfNeox", "dropQkvBias", "kvPositionOffByOne", "skipNormWeight", "wrongBlockScaleType"},
                   "new Context faults");
  f.normal_rope_instead_of_neox = bool_option(env, o, "normalRopeInsteadOfNeox");
  f.drop_qkv_bias = bool_option(env, o, "dropQkvBias");
  f.kv_position_off_by_one = bool_option(env, o, "kvPositionOffByOne");
  f.skip_norm_weight = bool_option(env, o, "skipNormWeight");
  if (o.Has("wrongBlockScaleType") && !o.Get("wrongBlockScaleType").IsUndefined()) {
    const Napi::Value v = o.Get("wrongBlockScaleType");
    if (!v.IsString()) throw_usage(env, "new Context: faults.wrongBlockScaleType must be a type name");
    f.wrong_block_scale_type = v.As<Napi::String>().Utf8Value();
  }
  return f;
}

alloy::ContextParams read_params(const Napi::Env& env, const Napi::Value& value) {
  alloy::ContextParams p;
  if (value.IsUndefined()) return p;
  if (!value.IsObject() || value.IsArray()) throw_usage(env, "new Context(model, options): options must be an object");
  const Napi::Object o = value.As<Napi::Object>();
  check_known_keys(env, o, {"nCtx", "threads", "kvType", "nBatch", "faults"}, "new Context");
  p.n_ctx = int_option(env, o, "nCtx", p.n_ctx);
  p.n_threads = int_option(env, o, "threads", p.n_threads);
  p.n_batch = int_option(env, o, "nBatch", p.n_batch);
  if (o.Has("kvType") && !o.Get("kvType").IsUndefined()) {
    const Napi::Value v = o.Get("kvType");
    const std::string kv = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
    if (kv == "f16") {
      p.kv_type = alloy::KvType::f16;
    } else if (kv == "f32") {
      p.kv_type = alloy::KvType::f32;
    } else {
      throw_usage(env, "new Context: kvType must be 'f16' or 'f32'");
    }
  }
  p.faults = read_faults(env, o.Get("faults"));
  return p;
}

}  // namespace

Napi::Function ContextHandle::define(Napi::Env env, Napi::Function model_class) {
  ClassData* data = new ClassData();
  data->model_class = Napi::Persistent(model_class);
  env.SetInstanceData(data);
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
  const ClassData* data = env.GetInstanceData<ClassData>();
  if (info.Length() < 1 || !info[0].IsObject() || !data ||
      !info[0].As<Napi::Object>().InstanceOf(data->model_class.Value())) {
    throw_usage(env, "new Context(model, options): model must be a Model");
  }
  ModelHandle* model = Napi::ObjectWrap<ModelHandle>::Unwrap(info[0].As<Napi::Object>());
  const alloy::ContextParams params = read_params(env, info.Length() > 1 ? info[1] : env.Undefined());
  try {
    model_ = model->engine_model(env);
    context_ = std::make_unique<alloy::Context>(*model_, params);
  } catch (const alloy::Error& e) {
    throw to_js_error(env, e);
  } catch (const std::bad_alloc&) {
    throw to_js_error(env, alloy::Error(alloy::ErrorKind::out_of_memory, "out of memory creating the context"));
  } catch (const std::system_error& e) {  // a worker thread could not be started
    throw to_js_error(env, alloy::Error(alloy::ErrorKind::internal, e.what()));
  }
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
