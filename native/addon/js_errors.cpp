#include "js_errors.h"

#include <exception>
#include <system_error>


namespace alloy_addon {

namespace {

Napi::Error make_error(const Napi::Env& env, const char* kind, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("kind", Napi::String::New(env, kind));
  return err;
}

}  // namespace

Napi::Value guarded(const Napi::Env& env, const std::function<Napi::Value()>& body) {
  try {
    return body();
  } catch (const Napi::Error& e) {
    e.ThrowAsJavaScriptException();
  } catch (const alloy::Error& e) {
    to_js_error(env, e).ThrowAsJavaScriptException();
  } catch (const std::bad_alloc&) {
    make_error(env, "out_of_memory", "out of memory").ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    make_error(env, "internal", e.what()).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

Napi::Error to_js_error(const Napi::Env& env, const alloy::Error& error) {
  return make_error(env, alloy::error_kind_name(error.kind()), error.what());
}

void construct_or_throw(const Napi::Env& env, const char* what, const std::function<void()>& body) {
  try {
    body();
  } catch (const alloy::Error& e) {
    throw to_js_error(env, e);
  } catch (const std::bad_alloc&) {
    throw to_js_error(env, alloy::Error(alloy::ErrorKind::out_of_memory, std::string("out of memory creating ") + what));
  } catch (const std::system_error& e) {  // a worker thread could not be started
    throw to_js_error(env, alloy::Error(alloy::ErrorKind::internal, std::string("creating ") + what + ": " + e.what()));
  }
}

void throw_usage(const Napi::Env& env, const std::string& message) {
  throw make_error(env, "invalid_argument", message);
}

}  // namespace alloy_addon
