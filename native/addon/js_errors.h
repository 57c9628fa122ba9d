// Turns C++ failures into JS exceptions: alloy::Error becomes an Error whose `kind` is the
// stable ErrorKind name; anything else becomes kind "internal".
#pragma once

#include <napi.h>

#include <functional>
#include <string>

#include "core/error.h"

namespace alloy_addon {

// Runs body; converts any C++ exception into a pending JS exception and returns undefined.
Napi::Value guarded(const Napi::Env& env, const std::function<Napi::Value()>& body);
// The JS form of an engine error: an Error with `kind` set to the ErrorKind name.
Napi::Error to_js_error(const Napi::Env& env, const alloy::Error& error);
[[noreturn]] void throw_usage(const Napi::Env& env, const std::string& message);

// For constructors: runs body; an engine error, an allocation failure or a thread that
// cannot start ("creating `what`") becomes the JS error of its kind.
void construct_or_throw(const Napi::Env& env, const char* what, const std::function<void()>& body);

}  // namespace alloy_addon
