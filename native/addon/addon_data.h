// Per-environment data of the addon (napi instance data): the JS Model constructor, which
// Context and Engine use to check their first argument and loadModel to create instances.
#pragma once

#include <napi.h>

namespace alloy_addon {

struct AddonData {
  Napi::FunctionReference model_class;
};

// The environment's AddonData; set once in the module's init.
inline AddonData& addon_data(const Napi::Env& env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace alloy_addon
