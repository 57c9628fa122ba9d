// Reading JS arguments the addon's classes share: integer id lists and option objects.
#pragma once

#include <napi.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "backend/backend.h"

namespace alloy_addon {

// Fills out with an Int32Array's values or a JS array of integers in int32 range; anything
// else is a usage error naming `what`.
void read_int32_list(const Napi::Env& env, const Napi::Value& value, const std::string& what, std::vector<int32_t>& out);

// A usage error for any own property of o that is not in `known` (catches misspelt options).
void check_known_keys(const Napi::Env& env, const Napi::Object& o, std::initializer_list<const char*> known,
                      const std::string& what);

// Optional options: `fallback` when the key is absent or undefined; otherwise the value must
// have the type (and, for integers, lie in [min, max]) or it is a usage error naming
// `what` and the key.
double number_option(const Napi::Env& env, const Napi::Object& o, const char* key, double fallback, const std::string& what);
int int_option(const Napi::Env& env, const Napi::Object& o, const char* key, int fallback, double min, double max,
               const std::string& what);
bool bool_option(const Napi::Env& env, const Napi::Object& o, const char* key, bool fallback, const std::string& what);
std::string string_option(const Napi::Env& env, const Napi::Object& o, const char* key, const std::string& fallback,
                          const std::string& what);
// The optional 'kvType' option: 'f16' (default) or 'f32'.
alloy::KvType read_kv_type(const Napi::Env& env, const Napi::Object& o, const std::string& what);
// An optional options object (undefined gives an empty one); anything but a plain object
// is a usage error.
Napi::Object options_object(const Napi::Env& env, const Napi::Value& value, const std::string& what);

}  // namespace alloy_addon
