// Reading JS arguments the addon's classes share: integer id lists and option objects.
#pragma once

#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace alloy_addon {

// Fills out with an Int32Array's values or a JS array of integers in int32 range; anything
// else is a usage error naming `what`.
void read_int32_list(const Napi::Env& env, const Napi::Value& value, const std::string& what, std::vector<int32_t>& out);

// A usage error for any own property of o that is not in `known` (catches misspelt options).
void check_known_keys(const Napi::Env& env, const Napi::Object& o, std::initializer_list<const char*> known,
                      const std::string& what);

}  // namespace alloy_addon
