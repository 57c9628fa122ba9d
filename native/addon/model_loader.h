// loadModel(path, onProgress?) -> Promise<Model>: opens, validates and pages in a GGUF model
// and binds its weights on a libuv worker thread, so the JS thread stays free. Progress
// reaches onProgress as {phase: 'open' | 'read' | 'bind', fraction} (overall, 0..1).
// Rejections carry the engine's error kind, like every other addon error.
#pragma once

#include <napi.h>

namespace alloy_addon {

Napi::Value load_model_js(const Napi::CallbackInfo& info);

}  // namespace alloy_addon
