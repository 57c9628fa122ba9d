#include "sampler_handle.h"

#include <cmath>
#include <string>

#include "js_errors.h"
#include "js_values.h"

namespace alloy_addon {

namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1
constexpr double kIntMin = -2147483648.0;
constexpr double kIntMax = 2147483647.0;

}  // namespace

// Range checks of the float options are alloy::validate_sampler_params's (NaN included).
alloy::SamplerParams read_sampler_params(const Napi::Env& env, const Napi::Value& value, const std::string& what) {
  const Napi::Object o = options_object(env, value, what);
  check_known_keys(env, o, {"temp", "topK", "topP", "minP", "repeatPenalty", "repeatLastN", "seed"}, what);
  alloy::SamplerParams p;
  p.temp = static_cast<float>(number_option(env, o, "temp", p.temp, what));
  p.top_k = int_option(env, o, "topK", p.top_k, kIntMin, kIntMax, what);
  p.top_p = static_cast<float>(number_option(env, o, "topP", p.top_p, what));
  p.min_p = static_cast<float>(number_option(env, o, "minP", p.min_p, what));
  p.repeat_penalty = static_cast<float>(number_option(env, o, "repeatPenalty", p.repeat_penalty, what));
  p.repeat_last_n = int_option(env, o, "repeatLastN", p.repeat_last_n, kIntMin, kIntMax, what);
  const double seed = number_option(env, o, "seed", 0, what);
  if (!(std::trunc(seed) == seed && seed >= 0.0 && seed <= kMaxSafeInteger)) {
    throw_usage(env, what + ": 'seed' must be an integer in [0, 2^53)");
  }
  p.seed = static_cast<uint64_t>(seed);
  return p;
}

namespace {

alloy::SamplerParams checked_params(const Napi::Env& env, const Napi::Value& value) {
  alloy::SamplerParams p = read_sampler_params(env, value, "new Sampler(options)");
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
