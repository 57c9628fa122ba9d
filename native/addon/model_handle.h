// JS class `Model`: an opened GGUF file with its tokenizer. Owns the mapping; every view
// handed to JS is copied out, so nothing in JS points into native memory.
#pragma once

#include <napi.h>

#include <memory>

#include "core/gguf.h"
#include "core/model.h"
#include "core/tokenizer.h"

namespace alloy_addon {

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ModelHandle(const Napi::CallbackInfo& info);

  // The weights bound for evaluation (bound on first use, so vocab-only files still open);
  // contexts share ownership, so they outlive close(). Throws alloy::Error when the file is
  // not a model the engine runs.
  std::shared_ptr<const alloy::Model> engine_model(const Napi::Env& env);

 private:
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value tokenize(const Napi::CallbackInfo& info);
  Napi::Value detokenize(const Napi::CallbackInfo& info);
  Napi::Value token_to_piece(const Napi::CallbackInfo& info);
  Napi::Value special_tokens(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  const alloy::Tokenizer& tokenizer(const Napi::Env& env) const;

  // Declared in this order so the tokenizer (which views the file) is destroyed first.
  std::shared_ptr<alloy::GgufFile> file_;
  std::unique_ptr<alloy::Tokenizer> tokenizer_;
  std::shared_ptr<const alloy::Model> model_;
};

}  // namespace alloy_addon
