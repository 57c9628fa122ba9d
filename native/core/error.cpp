#include "error.h"

namespace alloy {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::io_error: return "io_error";
    case ErrorKind::bad_magic: return "bad_magic";
    case ErrorKind::unsupported_version: return "unsupported_version";
    case ErrorKind::truncated_file: return "truncated_file";
    case ErrorKind::invalid_metadata: return "invalid_metadata";
    case ErrorKind::duplicate_key: return "duplicate_key";
    case ErrorKind::missing_key: return "missing_key";
    case ErrorKind::unknown_tensor_type: return "unknown_tensor_type";
    case ErrorKind::invalid_tensor: return "invalid_tensor";
    case ErrorKind::tensor_out_of_bounds: return "tensor_out_of_bounds";
    case ErrorKind::unsupported_architecture: return "unsupported_architecture";
    case ErrorKind::unsupported_tensor_type: return "unsupported_tensor_type";
    case ErrorKind::unsupported_tokenizer: return "unsupported_tokenizer";
    case ErrorKind::invalid_argument: return "invalid_argument";
    case ErrorKind::prompt_too_long: return "prompt_too_long";
    case ErrorKind::out_of_memory: return "out_of_memory";
    case ErrorKind::backend_unavailable: return "backend_unavailable";
    case ErrorKind::internal: return "internal";
  }
  return "internal";
}

}  // namespace alloy
