// Random-weight `llama` and `qwen2` model files in llama.cpp's exact layout (metadata keys,
// tensor names, shapes and types), for tests that compare the engine with llama.cpp on
// shapes, weight types and hyper-parameters no downloaded model has. Deterministic for a
// seed on every platform.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ggml_type.h"
#include "gguf_writer.h"

namespace alloy {

struct RandomModelConfig {
  std::string arch = "qwen2";  // "llama" or "qwen2" (qwen2 adds q/k/v biases)
  // Synthetic vocabulary: at least kSyntheticVocabMinSize (259). With vocab_path: 0 (take
  // the vocabulary's size) or exactly that size.
  int n_vocab = 0;
  int n_embd = 256;
  int n_layer = 2;
  int n_head = 4;
  int n_head_kv = 2;
  int n_ff = 768;
  int n_ctx_train = 4096;
  int n_rot = 0;  // > 0 writes {arch}.rope.dimension_count; 0 omits it (= head dim)
  float rope_freq_base = 10000.0f;
  float rms_eps = 1e-6f;
  bool tied_output = false;  // true: no output.weight (llama.cpp reuses token_embd)
  // Type of every 2-D matrix; 1-D tensors (norms, biases) stay F32 as in llama.cpp. Block
  // types need each matrix's row length (n_embd, or n_ff for ffn_down) to be a multiple of
  // their block size (256 for K-quants).
  GgmlType weight_type = GgmlType::F32;
  // Per-matrix types by tensor name (e.g. "blk.0.attn_v.weight"), overriding weight_type:
  // mixes such as llama.cpp's Q4_K_M. Every name must be a matrix of this model.
  std::map<std::string, GgmlType> tensor_types;
  // general.file_type (LLAMA_FTYPE_*); unset: llama_file_type_for(weight_type).
  std::optional<uint32_t> file_type;
  uint64_t seed = 1;
  // Value scales per tensor group (standard deviations; see fill_random_weights).
  float weight_std = 0.02f;  // attn_v, attn_output, ffn_gate, ffn_up, ffn_down
  float qk_std = 0.02f;      // attn_q, attn_k (larger values make attention peaked)
  float embd_std = 0.02f;    // token_embd (also the output projection when tied)
  float output_std = 0.02f;  // output.weight (untied)
  float norm_std = 0.02f;    // RMSNorm weights are 1 + this * N(0, 1)
  float bias_std = 0.02f;    // qwen2 q/k/v biases
  // Copy every tokenizer.* key from this GGUF file; empty = synthetic SentencePiece vocab.
  std::string vocab_path;
  std::string name = "alloy-random";  // general.name
};

// One tensor of the model as the generator makes it.
struct RandomTensorSpec {
  std::string name;
  GgmlType type;
  std::vector<int64_t> shape;  // ggml order
  float mean;
  float std;
};

// The tensors, in file order: token_embd, then per layer attn_norm, attn_q (+ bias),
// attn_k (+ bias), attn_v (+ bias), attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down, then
// output_norm and (untied) output; matrices carry their tensor_types override, if any.
// n_vocab must already be resolved (> 0).
std::vector<RandomTensorSpec> random_model_tensors(const RandomModelConfig& config, int n_vocab);

// llama.cpp's general.file_type (LLAMA_FTYPE_*) for a model whose matrices are all `type`;
// throws Error(unsupported_tensor_type) for types the generator does not make.
uint32_t llama_file_type_for(GgmlType type);

// A writer holding the complete model (tensor data is generated while it is written).
// Throws Error(invalid_argument) for an inconsistent configuration, and the reader's
// errors for an unreadable vocab file.
GgufWriter build_random_model(const RandomModelConfig& config);
void write_random_model(const RandomModelConfig& config, const std::string& out_path);

}  // namespace alloy
