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

}  // namespace alloy_addon
