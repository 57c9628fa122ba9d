// Typed engine errors. Every failure the user can cause (bad file, unsupported model,
// bad arguments) is thrown as alloy::Error with a kind; the addon and the CLI turn the
// kind into `error: KIND: message`. Kinds are stable strings other tools may match on.
#pragma once

#include <stdexcept>
#include <string>

namespace alloy {

enum class ErrorKind {
  io_error,                 // file missing, unreadable, mmap failed
  bad_magic,                // not a GGUF file
  unsupported_version,      // GGUF version other than 2 or 3
  truncated_file,           // a section ends past the end of the file
  invalid_metadata,         // bad value type, bad string, nested array, bad alignment value
  duplicate_key,            // a metadata key appears twice
  missing_key,              // a required metadata key is absent
  unknown_tensor_type,      // a ggml type id we do not know at all
  invalid_tensor,           // bad dims, duplicate name, size overflow, misaligned offset
  tensor_out_of_bounds,     // tensor data outside the data section of the file
  unsupported_architecture, // general.architecture is not one the engine runs
  unsupported_tensor_type,  // a known ggml type that the engine cannot compute with
  unsupported_tokenizer,    // tokenizer.ggml.model / pre we do not implement
  invalid_argument,         // bad input from the caller (token id out of range, ...)
  prompt_too_long,          // a prompt that does not fit the context it is evaluated in
  out_of_memory,            // an allocation the input asked for does not fit in memory
  backend_unavailable,      // a compute backend (Metal) cannot start here; the engine falls back to CPU
  internal,                 // a bug: an invariant did not hold
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace alloy
