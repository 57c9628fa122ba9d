// writeRandomModel(options, outPath): writes a random-weight llama/qwen2 GGUF (tests, bench).
// options mirror RandomModelConfig in camelCase; tensorTypes ({ tensorName: typeName }) sets
// per-matrix types and fileType general.file_type.
#pragma once

#include <napi.h>

namespace alloy_addon {

Napi::Value write_random_model_js(const Napi::CallbackInfo& info);

}  // namespace alloy_addon
