#include "model_info.h"

#include "error.h"

namespace alloy {

std::optional<Architecture> architecture_from_name(std::string_view name) {
  if (name == "llama") return Architecture::llama;
  if (name == "qwen2") return Architecture::qwen2;
  return std::nullopt;
}

ModelInfo read_model_info(const GgufFile& file, std::optional<FimTokens> fim) {
  ModelInfo info;
  info.arch = std::string(file.require_string("general.architecture"));
  info.vocab_only = file.tensors().empty();
  if (!info.vocab_only && !architecture_from_name(info.arch)) {
    throw Error(ErrorKind::unsupported_architecture,
                "architecture '" + info.arch + "' is not supported (supported: llama, qwen2) - choose a Qwen2.5-Coder or Llama GGUF model");
  }
  const std::string prefix = info.arch + ".";
  auto hparam = [&](const char* name) -> std::optional<uint64_t> {
    const std::string key = prefix + name;
    if (info.vocab_only) return file.get_uint(key);
    return file.require_uint(key);
  };
  info.n_layer = hparam("block_count");
  info.n_embd = hparam("embedding_length");
  info.n_head = hparam("attention.head_count");
  info.n_ctx_train = hparam("context_length");
  // head_count_kv defaults to head_count (no GQA) when absent, as in llama.cpp.
  info.n_head_kv = file.get_uint(prefix + "attention.head_count_kv");
  if (!info.n_head_kv) info.n_head_kv = info.n_head;
  info.n_vocab = static_cast<int64_t>(file.require_array("tokenizer.ggml.tokens", GgufValueType::STRING).array_count);
  for (const GgufTensorInfo& t : file.tensors()) ++info.tensor_types[std::string(ggml_type_name(t.type))];
  info.fim = fim;
  info.chat_template = file.find("tokenizer.chat_template") != nullptr;
  return info;
}

}  // namespace alloy
