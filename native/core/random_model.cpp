#include "random_model.h"

#include <algorithm>
#include <cmath>
#include <string_view>

#include "error.h"
#include "gguf.h"
#include "random_weights.h"
#include "rng.h"
#include "synthetic_vocab.h"

namespace alloy {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorKind::invalid_argument, "random model: " + message);
}

// Every type must be one the generator makes, every tensor_types name a matrix of the model,
// and every matrix's row length a multiple of its type's block size.
void validate_matrix_types(const RandomModelConfig& c) {
  llama_file_type_for(c.weight_type);  // throws unsupported_tensor_type
  const std::vector<RandomTensorSpec> tensors = random_model_tensors(c, 1);  // row lengths do not depend on n_vocab
  for (const auto& [name, type] : c.tensor_types) {
    const bool is_matrix = std::any_of(tensors.begin(), tensors.end(), [&name = name](const RandomTensorSpec& t) {
      return t.name == name && t.shape.size() == 2;
    });
    if (!is_matrix) invalid("tensor_types names '" + name + "', which is not a matrix of this model");
    llama_file_type_for(type);
  }
  for (const RandomTensorSpec& t : tensors) {
    if (t.shape.size() != 2) continue;
    const uint32_t block = ggml_type_traits(t.type).block_elems;
    if (t.shape[0] % block != 0) {
      invalid(t.name + ": row length " + std::to_string(t.shape[0]) + " is not a multiple of the " +
              std::string(ggml_type_name(t.type)) + " block size " + std::to_string(block));
    }
  }
}

void validate(const RandomModelConfig& c) {
  if (c.arch != "llama" && c.arch != "qwen2") invalid("architecture '" + c.arch + "' (llama or qwen2)");
  if (c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 || c.n_ff <= 0 || c.n_ctx_train <= 0 ||
      c.n_rot < 0) {
    invalid("every size must be positive");
  }
  if (c.n_embd % c.n_head != 0) invalid("n_embd is not a multiple of n_head");
  if ((c.n_embd / c.n_head) % 2 != 0) invalid("the head dimension must be even (RoPE rotates pairs)");
  if (c.n_head % c.n_head_kv != 0) invalid("n_head is not a multiple of n_head_kv");
  if (c.n_rot > c.n_embd / c.n_head || c.n_rot % 2 != 0) invalid("n_rot must be even and at most the head dimension");
  if (!(c.rope_freq_base > 0) || !(c.rms_eps > 0) || !std::isfinite(c.rope_freq_base) || !std::isfinite(c.rms_eps)) {
    invalid("rope_freq_base and rms_eps must be positive");
  }
  for (float s : {c.weight_std, c.qk_std, c.embd_std, c.output_std, c.norm_std, c.bias_std}) {
    if (!std::isfinite(s) || s < 0) invalid("standard deviations must be finite and >= 0");
  }
  validate_matrix_types(c);
}

uint64_t fnv1a(std::string_view text) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char ch : text) h = (h ^ static_cast<uint8_t>(ch)) * 0x100000001B3ull;
  return h;
}

// Each tensor gets its own stream, so its data depends only on the seed and its name.
Rng tensor_rng(uint64_t seed, std::string_view name) {
  uint64_t state = seed;
  return Rng(splitmix64(state) ^ fnv1a(name));
}

// Resolves n_vocab and adds the tokenizer keys.
int add_tokenizer(GgufWriter& writer, const RandomModelConfig& c) {
  if (c.vocab_path.empty()) {
    add_synthetic_tokenizer(writer, c.n_vocab);
    return c.n_vocab;
  }
  const GgufFile vocab = GgufFile::open(c.vocab_path);
  const uint64_t size = vocab.require_array("tokenizer.ggml.tokens", GgufValueType::STRING).array_count;
  if (c.n_vocab != 0 && static_cast<uint64_t>(c.n_vocab) != size) {
    invalid("n_vocab " + std::to_string(c.n_vocab) + " differs from the " + std::to_string(size) + " tokens of " +
            c.vocab_path);
  }
  for (const GgufKv& kv : vocab.metadata()) {
    if (kv.key.substr(0, 10) == "tokenizer.") writer.add(std::string(kv.key), GgufMetaValue::copy_of(kv.value));
  }
  return static_cast<int>(size);
}

}  // namespace

uint32_t llama_file_type_for(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return 0;   // ALL_F32
    case GgmlType::F16: return 1;   // MOSTLY_F16
    case GgmlType::Q4_0: return 2;  // MOSTLY_Q4_0
    case GgmlType::Q4_1: return 3;  // MOSTLY_Q4_1
    case GgmlType::Q8_0: return 7;  // MOSTLY_Q8_0
    case GgmlType::Q5_0: return 8;  // MOSTLY_Q5_0
    case GgmlType::Q5_1: return 9;  // MOSTLY_Q5_1
    case GgmlType::Q2_K: return 10; // MOSTLY_Q2_K
    case GgmlType::Q3_K: return 11; // MOSTLY_Q3_K_S (all Q3_K)
    case GgmlType::Q4_K: return 14; // MOSTLY_Q4_K_S (all Q4_K)
    case GgmlType::Q5_K: return 16; // MOSTLY_Q5_K_S (all Q5_K)
    case GgmlType::Q6_K: return 18; // MOSTLY_Q6_K
    case GgmlType::BF16: return 32; // MOSTLY_BF16
    ALLOY_UNSUPPORTED_WEIGHT_TYPE_CASES:
      break;
  }
  throw Error(ErrorKind::unsupported_tensor_type,
              "random models cannot use " + std::string(ggml_type_name(type)) + " weights");
}

std::vector<RandomTensorSpec> random_model_tensors(const RandomModelConfig& c, int n_vocab) {
  const int64_t n_embd = c.n_embd;
  const int64_t n_embd_kv = static_cast<int64_t>(c.n_embd / c.n_head) * c.n_head_kv;
  const bool biases = c.arch == "qwen2";
  std::vector<RandomTensorSpec> out;
  const auto matrix = [&](std::string name, int64_t cols, int64_t rows, float std) {
    const auto it = c.tensor_types.find(name);
    const GgmlType type = it == c.tensor_types.end() ? c.weight_type : it->second;
    out.push_back({std::move(name), type, {cols, rows}, 0.0f, std});
  };
  const auto vector = [&](std::string name, int64_t n, float mean, float std) {
    out.push_back({std::move(name), GgmlType::F32, {n}, mean, std});
  };
  matrix("token_embd.weight", n_embd, n_vocab, c.embd_std);
  for (int layer = 0; layer < c.n_layer; ++layer) {
    const std::string blk = "blk." + std::to_string(layer) + ".";
    vector(blk + "attn_norm.weight", n_embd, 1.0f, c.norm_std);
    matrix(blk + "attn_q.weight", n_embd, n_embd, c.qk_std);
    if (biases) vector(blk + "attn_q.bias", n_embd, 0.0f, c.bias_std);
    matrix(blk + "attn_k.weight", n_embd, n_embd_kv, c.qk_std);
    if (biases) vector(blk + "attn_k.bias", n_embd_kv, 0.0f, c.bias_std);
    matrix(blk + "attn_v.weight", n_embd, n_embd_kv, c.weight_std);
    if (biases) vector(blk + "attn_v.bias", n_embd_kv, 0.0f, c.bias_std);
    matrix(blk + "attn_output.weight", n_embd, n_embd, c.weight_std);
    vector(blk + "ffn_norm.weight", n_embd, 1.0f, c.norm_std);
    matrix(blk + "ffn_gate.weight", n_embd, c.n_ff, c.weight_std);
    matrix(blk + "ffn_up.weight", n_embd, c.n_ff, c.weight_std);
    matrix(blk + "ffn_down.weight", c.n_ff, n_embd, c.weight_std);
  }
  vector("output_norm.weight", n_embd, 1.0f, c.norm_std);
  if (!c.tied_output) matrix("output.weight", n_embd, n_vocab, c.output_std);
  return out;
}

GgufWriter build_random_model(const RandomModelConfig& c) {
  validate(c);
  const uint32_t file_type = c.file_type ? *c.file_type : llama_file_type_for(c.weight_type);
  GgufWriter writer;
  const std::string& a = c.arch;
  writer.add("general.architecture", GgufMetaValue::string(a));
  writer.add("general.name", GgufMetaValue::string(c.name));
  writer.add("general.file_type", GgufMetaValue::u32(file_type));
  writer.add("general.quantization_version", GgufMetaValue::u32(2));
  writer.add(a + ".context_length", GgufMetaValue::u32(static_cast<uint32_t>(c.n_ctx_train)));
  writer.add(a + ".embedding_length", GgufMetaValue::u32(static_cast<uint32_t>(c.n_embd)));
  writer.add(a + ".block_count", GgufMetaValue::u32(static_cast<uint32_t>(c.n_layer)));
  writer.add(a + ".feed_forward_length", GgufMetaValue::u32(static_cast<uint32_t>(c.n_ff)));
  writer.add(a + ".attention.head_count", GgufMetaValue::u32(static_cast<uint32_t>(c.n_head)));
  writer.add(a + ".attention.head_count_kv", GgufMetaValue::u32(static_cast<uint32_t>(c.n_head_kv)));
  writer.add(a + ".rope.freq_base", GgufMetaValue::f32(c.rope_freq_base));
  writer.add(a + ".attention.layer_norm_rms_epsilon", GgufMetaValue::f32(c.rms_eps));
  if (c.n_rot > 0) writer.add(a + ".rope.dimension_count", GgufMetaValue::u32(static_cast<uint32_t>(c.n_rot)));
  const int n_vocab = add_tokenizer(writer, c);

  const uint64_t seed = c.seed;
  for (const RandomTensorSpec& spec : random_model_tensors(c, n_vocab)) {
    writer.add_tensor(spec.name, spec.type, spec.shape, [seed, spec](std::vector<uint8_t>& bytes) {
      Rng rng = tensor_rng(seed, spec.name);
      fill_random_weights(spec.type, spec.mean, spec.std, rng, bytes);
    });
  }
  return writer;
}

void write_random_model(const RandomModelConfig& config, const std::string& out_path) {
  build_random_model(config).write_file(out_path);
}

}  // namespace alloy
