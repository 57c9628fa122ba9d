#include "model_handle.h"

#include <string>
#include <vector>

#include "addon_data.h"
#include "core/model_info.h"
#include "js_errors.h"
#include "js_values.h"

namespace alloy_addon {

namespace {

void check_token_id(const Napi::Env& env, int32_t id, const alloy::Tokenizer& tok) {
  if (id < 0 || id >= tok.n_vocab()) {
    throw_usage(env, "token id " + std::to_string(id) + " is outside the vocabulary (0.." + std::to_string(tok.n_vocab() - 1) + ")");
  }
}

std::vector<int32_t> read_token_ids(const Napi::Env& env, const Napi::Value& value, const alloy::Tokenizer& tok) {
  std::vector<int32_t> ids;
  read_int32_list(env, value, "detokenize(ids, renderSpecial): ids", ids);
  for (const int32_t id : ids) check_token_id(env, id, tok);
  return ids;
}

Napi::Value optional_uint(const Napi::Env& env, const std::optional<uint64_t>& v) {
  return v ? Napi::Number::New(env, static_cast<double>(*v)) : env.Null();
}

}  // namespace

Napi::Function ModelHandle::define(Napi::Env env) {
  return DefineClass(env, "Model",
                     {
                         InstanceMethod("info", &ModelHandle::info),
                         InstanceMethod("tokenize", &ModelHandle::tokenize),
                         InstanceMethod("detokenize", &ModelHandle::detokenize),
                         InstanceMethod("tokenToPiece", &ModelHandle::token_to_piece),
                         InstanceMethod("specialTokens", &ModelHandle::special_tokens),
                         InstanceMethod("chatTemplate", &ModelHandle::chat_template),
                         InstanceMethod("close", &ModelHandle::close),
                     });
}

ModelHandle::ModelHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelHandle>(info) {
  const Napi::Env env = info.Env();
  if (info.Length() >= 1 && info[0].IsExternal()) {
    parts_ = *info[0].As<Napi::External<ModelParts>>().Data();
    return;
  }
  if (info.Length() < 1 || !info[0].IsString()) throw_usage(env, "new Model(path): path must be a string");
  try {
    parts_.file = std::make_shared<alloy::GgufFile>(alloy::GgufFile::open(info[0].As<Napi::String>().Utf8Value()));
    parts_.tokenizer = std::make_shared<const alloy::Tokenizer>(alloy::Tokenizer::load(*parts_.file));
  } catch (const alloy::Error& e) {
    throw to_js_error(env, e);
  }
}

ModelHandle& ModelHandle::unwrap(const Napi::Env& env, const Napi::Value& value, const char* what) {
  if (!value.IsObject() || !value.As<Napi::Object>().InstanceOf(addon_data(env).model_class.Value())) {
    throw_usage(env, std::string(what) + " must be a Model");
  }
  return *Napi::ObjectWrap<ModelHandle>::Unwrap(value.As<Napi::Object>());
}

ModelParts ModelHandle::engine_parts(const Napi::Env& env) {
  if (!parts_.file) throw_usage(env, "the model is closed");
  if (!parts_.model) parts_.model = alloy::Model::load(parts_.file);
  return parts_;
}

const alloy::Tokenizer& ModelHandle::tokenizer(const Napi::Env& env) const {
  if (!parts_.tokenizer) throw_usage(env, "the model is closed");
  return *parts_.tokenizer;
}

Napi::Value ModelHandle::info(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const alloy::SpecialTokens& sp = tokenizer(env).special();
    std::optional<alloy::FimTokens> fim;
    if (sp.fim_prefix >= 0 && sp.fim_suffix >= 0 && sp.fim_middle >= 0) {
      fim = alloy::FimTokens{sp.fim_prefix, sp.fim_suffix, sp.fim_middle};
    }
    const alloy::ModelInfo mi = alloy::read_model_info(*parts_.file, fim);
    Napi::Object out = Napi::Object::New(env);
    out.Set("arch", mi.arch);
    out.Set("n_layer", optional_uint(env, mi.n_layer));
    out.Set("n_embd", optional_uint(env, mi.n_embd));
    out.Set("n_head", optional_uint(env, mi.n_head));
    out.Set("n_head_kv", optional_uint(env, mi.n_head_kv));
    out.Set("n_vocab", Napi::Number::New(env, static_cast<double>(mi.n_vocab)));
    out.Set("n_ctx_train", optional_uint(env, mi.n_ctx_train));
    Napi::Object types = Napi::Object::New(env);
    for (const auto& [name, count] : mi.tensor_types) types.Set(name, count);
    out.Set("tensor_types", types);
    if (mi.fim) {
      Napi::Object f = Napi::Object::New(env);
      f.Set("prefix", mi.fim->prefix);
      f.Set("suffix", mi.fim->suffix);
      f.Set("middle", mi.fim->middle);
      out.Set("fim", f);
    } else {
      out.Set("fim", env.Null());
    }
    out.Set("chat_template", mi.chat_template);
    return out;
  });
}

Napi::Value ModelHandle::tokenize(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) throw_usage(env, "tokenize(text, addSpecial, parseSpecial): text must be a string");
    const bool add_special = info.Length() > 1 && info[1].ToBoolean().Value();
    const bool parse_special = info.Length() > 2 && info[2].ToBoolean().Value();
    const std::vector<int32_t> ids = tokenizer(env).tokenize(info[0].As<Napi::String>().Utf8Value(), add_special, parse_special);
    Napi::Int32Array out = Napi::Int32Array::New(env, ids.size());
    std::copy(ids.begin(), ids.end(), out.Data());
    return out;
  });
}

Napi::Value ModelHandle::detokenize(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1) throw_usage(env, "detokenize(ids, renderSpecial)");
    const alloy::Tokenizer& tok = tokenizer(env);
    const std::vector<int32_t> ids = read_token_ids(env, info[0], tok);
    const bool render_special = info.Length() > 1 && info[1].ToBoolean().Value();
    return Napi::String::New(env, tok.detokenize(ids, render_special));
  });
}

Napi::Value ModelHandle::token_to_piece(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const alloy::Tokenizer& tok = tokenizer(env);
    if (info.Length() < 1 || !info[0].IsNumber()) throw_usage(env, "tokenToPiece(id, renderSpecial)");
    const int32_t id = info[0].As<Napi::Number>().Int32Value();
    check_token_id(env, id, tok);
    const bool render_special = info.Length() > 1 && info[1].ToBoolean().Value();
    const std::string piece = tok.token_to_piece(id, render_special);
    return Napi::Buffer<char>::Copy(env, piece.data(), piece.size());
  });
}

Napi::Value ModelHandle::special_tokens(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const alloy::SpecialTokens& sp = tokenizer(env).special();
    Napi::Object out = Napi::Object::New(env);
    out.Set("bos", sp.bos);
    out.Set("eos", sp.eos);
    out.Set("eot", sp.eot);
    out.Set("pad", sp.pad);
    out.Set("fimPrefix", sp.fim_prefix);
    out.Set("fimSuffix", sp.fim_suffix);
    out.Set("fimMiddle", sp.fim_middle);
    out.Set("addBos", sp.add_bos);
    out.Set("addEos", sp.add_eos);
    Napi::Array eog = Napi::Array::New(env, sp.eog.size());
    for (size_t i = 0; i < sp.eog.size(); ++i) eog.Set(static_cast<uint32_t>(i), sp.eog[i]);
    out.Set("eog", eog);
    return out;
  });
}

Napi::Value ModelHandle::chat_template(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    tokenizer(env);  // throws when closed
    const std::optional<std::string_view> tmpl = parts_.file->get_string("tokenizer.chat_template");
    return tmpl ? Napi::String::New(env, tmpl->data(), tmpl->size()) : env.Null();
  });
}

Napi::Value ModelHandle::close(const Napi::CallbackInfo& info) {
  parts_.model.reset();
  parts_.tokenizer.reset();
  parts_.file.reset();
  return info.Env().Undefined();
}

}  // namespace alloy_addon
