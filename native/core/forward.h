// The transformer graph of the `llama` and `qwen2` architectures, as llama.cpp builds it
// (src/models/llama.cpp, src/models/qwen2.cpp): token embeddings; per layer RMSNorm x weight,
// Q/K/V projections (+ biases when present), RoPE, causal attention over the KV cache,
// output projection, residual add, RMSNorm x weight, SwiGLU FFN, residual add; final RMSNorm
// and the output projection. Every operation runs through a Backend; every buffer is
// allocated here, once, for batches of up to n_batch tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "backend/backend.h"
#include "interrupt.h"
#include "kv_cache.h"
#include "model.h"
#include "step_evaluator.h"

namespace alloy {

// Deliberate bugs for the parity tier to prove it notices them. All off by default; each is
// looked at once per layer (or per matmul), never per element.
struct DebugFaults {
  bool normal_rope_instead_of_neox = false;  // NEOX models rotate consecutive pairs instead
  bool drop_qkv_bias = false;                // q/k/v biases are not added
  bool kv_position_off_by_one = false;       // keys are rotated for position p + 1
  bool skip_norm_weight = false;             // every RMSNorm leaves out its weight
  // A ggml type name (e.g. "Q4_K"): in matmuls with weights of that type, the first block of
  // every row counts 1.5x, as if its scale were misread. Empty: off.
  std::string wrong_block_scale_type;

  // Whether any fault is on.
  bool any() const {
    return normal_rope_instead_of_neox || drop_qkv_bias || kv_position_off_by_one || skip_norm_weight ||
           !wrong_block_scale_type.empty();
  }
  // The type named by wrong_block_scale_type; Error(invalid_argument) for an unknown name.
  std::optional<GgmlType> wrong_block_scale() const;
};

class ForwardPass final : public StepEvaluator {
 public:
  // The model and backend must outlive the pass; the backend is sized for every cache the
  // pass is given.
  ForwardPass(const Model& model, Backend& backend, int n_batch, const DebugFaults& faults);

  int n_batch() const override { return n_batch_; }

  // StepEvaluator::eval; the interrupter is asked between layers.
  void eval(KvCache& cache, const int32_t* tokens, int n, bool all_logits, float* logits,
            const Interrupter* interrupter = nullptr) override;

 private:
  // One batch of n tokens starting at position pos0. Logits are produced for rows
  // [out_first, out_first + out_count) and written to `logits` (n_vocab per row).
  void eval_batch(const KvCache& cache, const int32_t* tokens, int n, int pos0, int out_first, int out_count,
                  float* logits, const Interrupter* interrupter);
  void layer(const KvLayerView& kv, int il, int n, int pos0, int out_first, int out_count);
  const float* norm_weight(const F32Vector& weight) const;

  // Zeroed at construction: the pages are resident before the first prompt, which would
  // otherwise pay their page faults (0.5B shape, 512 tokens after a 16-token warm-up, 2
  // threads: 8 300-9 700 minor faults in the first evaluation of a new context, 900-1 100
  // with these buffers and the CPU backend's batch buffers zeroed up front).
  template <typename T>
  static std::unique_ptr<T[]> buffer(size_t n) {
    return std::unique_ptr<T[]>(new T[n]());
  }

  const Model& model_;
  const HyperParams& hp_;
  Backend& backend_;
  int n_batch_;
  DebugFaults faults_;
  RopeParams rope_;
  AttentionShape attention_;

  // Activations, one row per token of the batch.
  std::unique_ptr<float[]> x_;       // residual stream, n_embd
  std::unique_ptr<float[]> normed_;  // RMSNorm output, then projection outputs, n_embd
  std::unique_ptr<float[]> q_;       // n_embd_q
  std::unique_ptr<float[]> k_;       // n_embd_kv
  std::unique_ptr<float[]> v_;       // n_embd_kv
  std::unique_ptr<float[]> attn_;    // attention output, n_embd_q
  std::unique_ptr<float[]> gate_;    // n_ff (SwiGLU result in place)
  std::unique_ptr<float[]> up_;      // n_ff
  std::unique_ptr<int32_t[]> q_positions_;
  std::unique_ptr<int32_t[]> k_positions_;
};

}  // namespace alloy
