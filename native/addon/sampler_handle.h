// JS class `Sampler`: `new Sampler({temp, topK, topP, minP, repeatPenalty, repeatLastN, seed})`
// (every key optional, defaults as alloy::SamplerParams) and
// `sample(logits: Float32Array, history?: Int32Array | number[]) -> token id`.
// The sampler keeps its buffers between calls; an Int32Array history is read in place.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/sampler.h"

namespace alloy_addon {

// Sampling options {temp, topK, topP, minP, repeatPenalty, repeatLastN, seed} (each
// optional; undefined gives the defaults); type errors name `what`. Ranges are checked by
// alloy::validate_sampler_params.
alloy::SamplerParams read_sampler_params(const Napi::Env& env, const Napi::Value& value, const std::string& what);

class SamplerHandle : public Napi::ObjectWrap<SamplerHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit SamplerHandle(const Napi::CallbackInfo& info);

 private:
  Napi::Value sample(const Napi::CallbackInfo& info);

  alloy::Sampler sampler_;
  std::vector<int32_t> history_scratch_;  // a number[] history copied here (capacity reused)
};

}  // namespace alloy_addon
