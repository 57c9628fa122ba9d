// JS class `Engine`: generation on the engine's worker thread (core/scheduler.h).
//   new Engine(model, {nCtx?, threads?, nBatch?, kvType?, kvBudgetBytes?})
//   generate({slot, tokens, maxTokens, sampling?, stopTokens?, ignoreEos?, timeBudgetMs?}, onEvent) -> id
//   cancel(id) -> boolean, stats() -> object, dispose()
// Events reach onEvent on the JS thread through a thread-safe function, as the worker
// produces them: {type: 'token', ...} in order, then exactly one {type: 'done', ...}.
#pragma once

#include <napi.h>

#include <memory>

#include "core/scheduler.h"
#include "model_handle.h"

namespace alloy_addon {

class EngineHandle : public Napi::ObjectWrap<EngineHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit EngineHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value generate(const Napi::CallbackInfo& info);
  Napi::Value cancel(const Napi::CallbackInfo& info);
  Napi::Value stats(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  alloy::Scheduler& scheduler(const Napi::Env& env);

  // Declared first so the scheduler (which points into them) is destroyed before them.
  ModelParts parts_;
  std::unique_ptr<alloy::Scheduler> scheduler_;
};

}  // namespace alloy_addon
