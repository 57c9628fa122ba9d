#include "js_values.h"

#include <cmath>

#include "js_errors.h"

namespace alloy_addon {

void read_int32_list(const Napi::Env& env, const Napi::Value& value, const std::string& what, std::vector<int32_t>& out) {
  out.clear();
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    const Napi::Int32Array arr = value.As<Napi::Int32Array>();
    out.assign(arr.Data(), arr.Data() + arr.ElementLength());
    return;
  }
  if (!value.IsArray()) throw_usage(env, what + " must be an Int32Array or an array of token ids");
  const Napi::Array arr = value.As<Napi::Array>();
  out.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    const Napi::Value v = arr.Get(i);
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
    if (!(std::trunc(d) == d && d >= -2147483648.0 && d <= 2147483647.0)) throw_usage(env, what + " must hold integer token ids");
    out.push_back(static_cast<int32_t>(d));
  }
}

void check_known_keys(const Napi::Env& env, const Napi::Object& o, std::initializer_list<const char*> known,
                      const std::string& what) {
  const Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    bool found = false;
    for (const char* k : known) found = found || key == k;
    if (!found) throw_usage(env, what + ": unknown option '" + key + "'");
  }
}

namespace {

bool absent(const Napi::Object& o, const char* key) { return !o.Has(key) || o.Get(key).IsUndefined(); }

std::string format_bound(double v) {
  std::string s = std::to_string(v);
  return s.substr(0, s.find('.'));
}

}  // namespace

double number_option(const Napi::Env& env, const Napi::Object& o, const char* key, double fallback, const std::string& what) {
  if (absent(o, key)) return fallback;
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_usage(env, what + ": '" + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

int int_option(const Napi::Env& env, const Napi::Object& o, const char* key, int fallback, double min, double max,
               const std::string& what) {
  if (absent(o, key)) return fallback;
  const Napi::Value v = o.Get(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(std::trunc(d) == d && d >= min && d <= max)) {
    throw_usage(env, what + ": '" + key + "' must be an integer in [" + format_bound(min) + ", " + format_bound(max) + "]");
  }
  return static_cast<int>(d);
}

bool bool_option(const Napi::Env& env, const Napi::Object& o, const char* key, bool fallback, const std::string& what) {
  if (absent(o, key)) return fallback;
  const Napi::Value v = o.Get(key);
  if (!v.IsBoolean()) throw_usage(env, what + ": '" + key + "' must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string string_option(const Napi::Env& env, const Napi::Object& o, const char* key, const std::string& fallback,
                          const std::string& what) {
  if (absent(o, key)) return fallback;
  const Napi::Value v = o.Get(key);
  if (!v.IsString()) throw_usage(env, what + ": '" + key + "' must be a string");
  return v.As<Napi::String>().Utf8Value();
}

alloy::KvType read_kv_type(const Napi::Env& env, const Napi::Object& o, const std::string& what) {
  const std::string kv = string_option(env, o, "kvType", "f16", what);
  if (kv == "f16") return alloy::KvType::f16;
  if (kv == "f32") return alloy::KvType::f32;
  throw_usage(env, what + ": 'kvType' must be 'f16' or 'f32'");
}

Napi::Object options_object(const Napi::Env& env, const Napi::Value& value, const std::string& what) {
  if (value.IsUndefined()) return Napi::Object::New(env);
  if (!value.IsObject() || value.IsArray() || value.IsFunction()) throw_usage(env, what + " must be an object");
  return value.As<Napi::Object>();
}

}  // namespace alloy_addon
