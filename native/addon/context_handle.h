// JS class `Context`: one evaluation sequence over a Model.
//   new Context(model, {nCtx?, threads?, kvType?: 'f16' | 'f32', nBatch?, faults?})
//   eval(tokens: Int32Array | number[], allLogits: boolean) -> Float32Array (a copy)
//   nPast (getter), keepPrefix(n), dispose()
// `faults` (test-only): {normalRopeInsteadOfNeox, dropQkvBias, kvPositionOffByOne,
// skipNormWeight: boolean, wrongBlockScaleType: string}. The context shares ownership of
// the model's weights, so closing the Model does not pull the mapping from under it.
#pragma once

#include <napi.h>

#include <memory>

#include "core/context.h"
#include "core/model.h"

namespace alloy_addon {

class ContextHandle : public Napi::ObjectWrap<ContextHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ContextHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value eval(const Napi::CallbackInfo& info);
  Napi::Value n_past(const Napi::CallbackInfo& info);
  Napi::Value keep_prefix(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  alloy::Context& context(const Napi::Env& env);

  // Declared in this order so the context is destroyed before the model it points to.
  std::shared_ptr<const alloy::Model> model_;
  std::unique_ptr<alloy::Context> context_;
  std::vector<int32_t> tokens_;  // eval's input, capacity reused between calls
};

}  // namespace alloy_addon
