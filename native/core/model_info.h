// The summary of a GGUF file that `alloy info` reports and the engine checks before
// loading: architecture, hyper-parameters, tensor type counts, FIM tokens, chat template.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "gguf.h"

namespace alloy {

enum class Architecture { llama, qwen2 };

// nullopt if the engine does not run this architecture.
std::optional<Architecture> architecture_from_name(std::string_view name);

struct FimTokens {
  int32_t prefix = -1;
  int32_t suffix = -1;
  int32_t middle = -1;
};

struct ModelInfo {
  std::string arch;                    // general.architecture as written in the file
  bool vocab_only = false;             // no tensors: tokenizer files
  // Hyper-parameters; absent only in vocab-only files that do not carry them.
  std::optional<uint64_t> n_layer, n_embd, n_head, n_head_kv, n_ctx_train;
  int64_t n_vocab = 0;
  std::map<std::string, int> tensor_types;  // ggml type name -> tensor count
  std::optional<FimTokens> fim;             // all three ids known, else nullopt
  bool chat_template = false;
};

// Reads the summary. A file with tensors must name an architecture the engine runs
// (Error unsupported_architecture) and carry its hyper-parameters (Error missing_key).
// FIM ids come from the tokenizer (tokenizer.h), passed in by the caller.
ModelInfo read_model_info(const GgufFile& file, std::optional<FimTokens> fim);

}  // namespace alloy
