// writeRandomModel(options, outPath): writes a random-weight llama/qwen2 GGUF (tests, bench).
#pragma once

#include <napi.h>

namespace alloy_addon {

Napi::Value write_random_model_js(const Napi::CallbackInfo& info);

}  // namespace alloy_addon
