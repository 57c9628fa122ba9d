// A model ready to run: hyper-parameters read from GGUF metadata exactly as llama.cpp reads
// them for the `llama` and `qwen2` architectures, and every tensor of the graph bound by name
// with its shape and type checked. Weights are views into the mapped file, never copies.
// Anything the graph could not compute faithfully is refused here, at load:
//   unsupported_architecture  another architecture, or a variant of these (YaRN / LongRoPE
//                             scaling, per-layer head counts, tensors the graph does not use)
//   unsupported_tensor_type   a matrix of a type without a kernel (names tensor and type)
//   invalid_tensor            a missing tensor or a tensor of the wrong shape
//   missing_key / invalid_metadata  required hyper-parameters absent or inconsistent
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "gguf.h"
#include "model_info.h"

namespace alloy {

struct HyperParams {
  Architecture arch = Architecture::llama;
  int n_vocab = 0;
  int n_ctx_train = 0;
  int n_embd = 0;
  int n_layer = 0;
  int n_head = 0;
  int n_head_kv = 0;  // defaults to n_head
  int head_dim = 0;   // n_embd / n_head
  int n_ff = 0;
  float rms_eps = 0.0f;
  RopeParams rope;    // n_rot defaults to head_dim; freq_base to 10000; mode by architecture

  int n_embd_q() const { return n_head * head_dim; }
  int n_embd_kv() const { return n_head_kv * head_dim; }
};

struct LayerWeights {
  F32Vector attn_norm;
  WeightView wq, wk, wv, wo;
  std::optional<F32Vector> bq, bk, bv;  // q/k/v biases (qwen2 has them; optional for both)
  F32Vector ffn_norm;
  WeightView ffn_gate, ffn_up, ffn_down;
};

class Model {
 public:
  // Binds `file`'s tensors; the model keeps the file alive. Throws alloy::Error (see above).
  static std::shared_ptr<const Model> load(std::shared_ptr<const GgufFile> file);
  static std::shared_ptr<const Model> open(const std::string& path);

  const HyperParams& hparams() const { return hparams_; }
  const WeightView& token_embd() const { return token_embd_; }
  // The output projection: output.weight, or token_embd when the file has none (tied).
  const WeightView& output() const { return tied_output_ ? token_embd_ : output_; }
  bool tied_output() const { return tied_output_; }
  const F32Vector& output_norm() const { return output_norm_; }
  const std::optional<F32Vector>& output_bias() const { return output_bias_; }
  const std::vector<LayerWeights>& layers() const { return layers_; }
  // Every matrix the graph multiplies or reads rows of (once each).
  std::vector<const WeightView*> matrices() const;
  const GgufFile& file() const { return *file_; }

 private:
  Model() = default;
  friend class ModelBinder;

  std::shared_ptr<const GgufFile> file_;
  HyperParams hparams_;
  WeightView token_embd_;
  WeightView output_;
  bool tied_output_ = false;
  F32Vector output_norm_;
  std::optional<F32Vector> output_bias_;
  std::vector<LayerWeights> layers_;
};

}  // namespace alloy
