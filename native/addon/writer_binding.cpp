#include "writer_binding.h"

#include <cmath>
#include <map>
#include <optional>
#include <string>

#include "core/ggml_type.h"
#include "core/random_model.h"
#include "js_errors.h"

namespace alloy_addon {

namespace {

// Reads options[key] into out when present; a present value of the wrong type is a usage error.
template <typename T>
void read_number(const Napi::Env& env, const Napi::Object& o, const char* key, T& out) {
  if (!o.Has(key)) return;
  const Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw_usage(env, std::string("writeRandomModel: '") + key + "' must be a number");
  out = static_cast<T>(v.As<Napi::Number>().DoubleValue());
}

void read_string(const Napi::Env& env, const Napi::Object& o, const char* key, std::string& out) {
  if (!o.Has(key)) return;
  const Napi::Value v = o.Get(key);
  if (!v.IsString()) throw_usage(env, std::string("writeRandomModel: '") + key + "' must be a string");
  out = v.As<Napi::String>().Utf8Value();
}

alloy::GgmlType read_type(const Napi::Env& env, const std::string& type_name, const std::string& what) {
  const std::optional<alloy::GgmlType> type = alloy::ggml_type_from_name(type_name);
  if (!type) throw_usage(env, "writeRandomModel: unknown " + what + " '" + type_name + "'");
  return *type;
}

// tensorTypes: { [tensorName]: typeName } (per-matrix overrides of weightType).
void read_tensor_types(const Napi::Env& env, const Napi::Object& o, std::map<std::string, alloy::GgmlType>& out) {
  if (!o.Has("tensorTypes")) return;
  const Napi::Value v = o.Get("tensorTypes");
  if (!v.IsObject() || v.IsArray()) throw_usage(env, "writeRandomModel: 'tensorTypes' must be an object of tensor name -> type name");
  const Napi::Object types = v.As<Napi::Object>();
  const Napi::Array names = types.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    const Napi::Value type = types.Get(name);
    if (!type.IsString()) throw_usage(env, "writeRandomModel: tensorTypes['" + name + "'] must be a type name");
    out[name] = read_type(env, type.As<Napi::String>().Utf8Value(), "type of " + name);
  }
}

// fileType: general.file_type (an integer in uint32 range); absent: derived from weightType.
void read_file_type(const Napi::Env& env, const Napi::Object& o, std::optional<uint32_t>& out) {
  if (!o.Has("fileType")) return;
  const Napi::Value v = o.Get("fileType");
  const double n = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(std::trunc(n) == n && n >= 0 && n <= 4294967295.0)) throw_usage(env, "writeRandomModel: 'fileType' must be an integer in [0, 2^32)");
  out = static_cast<uint32_t>(n);
}

alloy::RandomModelConfig read_config(const Napi::Env& env, const Napi::Object& o) {
  alloy::RandomModelConfig c;
  read_string(env, o, "arch", c.arch);
  std::string type_name = "F32";
  read_string(env, o, "weightType", type_name);
  c.weight_type = read_type(env, type_name, "weightType");
  read_tensor_types(env, o, c.tensor_types);
  read_file_type(env, o, c.file_type);
  read_number(env, o, "nVocab", c.n_vocab);
  read_number(env, o, "nEmbd", c.n_embd);
  read_number(env, o, "nLayer", c.n_layer);
  read_number(env, o, "nHead", c.n_head);
  read_number(env, o, "nHeadKv", c.n_head_kv);
  read_number(env, o, "nFf", c.n_ff);
  read_number(env, o, "nCtxTrain", c.n_ctx_train);
  read_number(env, o, "nRot", c.n_rot);
  read_number(env, o, "ropeFreqBase", c.rope_freq_base);
  read_number(env, o, "rmsEps", c.rms_eps);
  read_number(env, o, "seed", c.seed);
  read_number(env, o, "weightStd", c.weight_std);
  read_number(env, o, "qkStd", c.qk_std);
  read_number(env, o, "embdStd", c.embd_std);
  read_number(env, o, "outputStd", c.output_std);
  read_number(env, o, "normStd", c.norm_std);
  read_number(env, o, "biasStd", c.bias_std);
  if (o.Has("tiedOutput")) c.tied_output = o.Get("tiedOutput").ToBoolean().Value();
  read_string(env, o, "vocabPath", c.vocab_path);
  read_string(env, o, "name", c.name);
  return c;
}

}  // namespace

Napi::Value write_random_model_js(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsString()) {
      throw_usage(env, "writeRandomModel(options, outPath)");
    }
    alloy::write_random_model(read_config(env, info[0].As<Napi::Object>()), info[1].As<Napi::String>().Utf8Value());
    return env.Undefined();
  });
}

}  // namespace alloy_addon
