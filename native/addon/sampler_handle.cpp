#include "sampler_handle.h"

#include <cmath>
#include <string>

#include "js_errors.h"
#include "js_values.h"

namespace alloy_addon {

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1

double number_option(const Napi::Env& env, const Napi::Object& o, const char* key) {
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_usage(env, std::string("Sampler: '") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int int_option(const Napi::Env& env, const Napi::Object& o, const char* key) {
  const double d = number_option(env, o, key);
  if (!(std::trunc(d) == d && d >= -2147483648.0 && d <= 2147483647.0)) {
    throw_usage(env, std::string("Sampler: '") + key + "' must be an integer");
  }
  return static_cast<int>(d);
}

// Range checks of the float options are alloy::validate_sampler_params's (NaN included).
alloy::SamplerParams read_params(const Napi::Env& env, const Napi::Value& value) {
  alloy::SamplerParams p;
  if (value.IsUndefined()) return p;
  if (!value.IsObject() || value.IsArray()) throw_usage(env, "new Sampler(options): options must be an object");
  const Napi::Object o = value.As<Napi::Object>();
  check_known_keys(env, o, {"temp", "topK", "topP", "minP", "repeatPenalty", "repeatLastN", "seed"}, "new Sampler(options)");
  if (o.Has("temp")) p.temp = static_cast<float>(number_option(env, o, "temp"));
  if (o.Has("topK")) p.top_k = int_option(env, o, "topK");
  if (o.Has("topP")) p.top_p = static_cast<float>(number_option(env, o, "topP"));
  if (o.Has("minP")) p.min_p = static_cast<float>(number_option(env, o, "minP"));
  if (o.Has("repeatPenalty")) p.repeat_penalty = static_cast<float>(number_option(env, o, "repeatPenalty"));
  if (o.Has("repeatLastN")) p.repeat_last_n = int_option(env, o, "repeatLastN");
  if (o.Has("seed")) {
    const double seed = number_option(env, o, "seed");
    if (!(std::trunc(seed) == seed && seed >= 0.0 && seed <= kMaxSafeInteger)) {
      throw_usage(env, "Sampler: 'seed' must be an integer in [0, 2^53)");
    }
    p.seed = static_cast<uint64_t>(seed);
  }
  return p;
}

alloy::SamplerParams checked_params(const Napi::Env& env, const Napi::Value& value) {
  alloy::SamplerParams p = read_params(env, value);
  try {
    alloy::validate_sampler_params(p);
  } catch (const alloy::Error& e) {
    throw to_js_error(env, e);
  }
  return p;
}

}  // namespace

Napi::Function SamplerHandle::define(Napi::Env env) {
  return DefineClass(env, "Sampler", {InstanceMethod("sample", &SamplerHandle::sample)});
}

SamplerHandle::SamplerHandle(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<SamplerHandle>(info),
      sampler_(checked_params(info.Env(), info.Length() > 0 ? info[0] : info.Env().Undefined())) {}

Napi::Value SamplerHandle::sample(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw_usage(env, "sample(logits, history): logits must be a Float32Array");
    }
    const Napi::Float32Array logits = info[0].As<Napi::Float32Array>();
    if (logits.ElementLength() > 2147483647u) throw_usage(env, "sample(logits, history): too many logits");
    const int n_vocab = static_cast<int>(logits.ElementLength());

    const int32_t* history = nullptr;
    size_t n_history = 0;
    const Napi::Value h = info.Length() > 1 ? info[1] : env.Undefined();
    if (h.IsTypedArray() && h.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
      const Napi::Int32Array arr = h.As<Napi::Int32Array>();
      history = arr.Data();
      n_history = arr.ElementLength();
    } else if (!h.IsUndefined()) {
      read_int32_list(env, h, "sample(logits, history): history", history_scratch_);
      history = history_scratch_.data();
      n_history = history_scratch_.size();
    }
    return Napi::Number::New(env, sampler_.sample(logits.Data(), n_vocab, history, n_history));
  });
}

}  // namespace alloy_addon
