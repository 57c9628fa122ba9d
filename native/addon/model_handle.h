// JS class `Model`: an opened GGUF file with its tokenizer. Owns the mapping; every view
// handed to JS is copied out, so nothing in JS points into native memory.
//   new Model(path)                      opens synchronously (weights bound on first use)
//   loadModel(path, onProgress)          (model_loader.h) opens on a worker thread
#pragma once

#include <napi.h>

#include <memory>

#include "core/gguf.h"
#include "core/model.h"
#include "core/tokenizer.h"

namespace alloy_addon {

// The parts of an opened model. Consumers that outlive the JS object (contexts, engines)
// keep copies of these pointers; declared in this order so the tokenizer (which views the
// file) and the bound weights are destroyed before the file.
struct ModelParts {
  std::shared_ptr<alloy::GgufFile> file;
  std::shared_ptr<const alloy::Tokenizer> tokenizer;
  std::shared_ptr<const alloy::Model> model;  // null until bound
};

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  // new Model(path), or (native code only) new Model(External<ModelParts>) taking parts
  // loaded elsewhere.
  explicit ModelHandle(const Napi::CallbackInfo& info);

  // The parts with the weights bound for evaluation (bound on first use, so vocab-only
  // files still open); consumers share ownership, so they outlive close(). Throws
  // alloy::Error when the file is not a model the engine runs.
  ModelParts engine_parts(const Napi::Env& env);
  // The ModelHandle behind a JS value, or a usage error naming `what` when it is not a Model.
  static ModelHandle& unwrap(const Napi::Env& env, const Napi::Value& value, const char* what);

 private:
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value tokenize(const Napi::CallbackInfo& info);
  Napi::Value detokenize(const Napi::CallbackInfo& info);
  Napi::Value token_to_piece(const Napi::CallbackInfo& info);
  Napi::Value special_tokens(const Napi::CallbackInfo& info);
  Napi::Value chat_template(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  const alloy::Tokenizer& tokenizer(const Napi::Env& env) const;

  ModelParts parts_;
};

}  // namespace alloy_addon
