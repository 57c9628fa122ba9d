#include "forward.h"

#include <algorithm>
#include <cmath>

#include "error.h"

namespace alloy {

std::optional<GgmlType> DebugFaults::wrong_block_scale() const {
  if (wrong_block_scale_type.empty()) return std::nullopt;
  const std::optional<GgmlType> type = ggml_type_from_name(wrong_block_scale_type);
  if (!type) throw Error(ErrorKind::invalid_argument, "unknown ggml type '" + wrong_block_scale_type + "' in faults");
  return type;
}

ForwardPass::ForwardPass(const Model& model, Backend& backend, int n_batch, const DebugFaults& faults)
    : model_(model), hp_(model.hparams()), backend_(backend), n_batch_(n_batch), faults_(faults) {
  if (n_batch < 1) throw Error(ErrorKind::invalid_argument, "the batch size must be at least 1");
  rope_ = hp_.rope;
  if (faults_.normal_rope_instead_of_neox && rope_.mode == RopeMode::neox) rope_.mode = RopeMode::normal;
  attention_.n_head = hp_.n_head;
  attention_.n_head_kv = hp_.n_head_kv;
  attention_.head_dim = hp_.head_dim;
  // llama.cpp: kq_scale = 1/sqrtf(float(n_embd_head)) for both architectures.
  attention_.scale = 1.0f / std::sqrt(static_cast<float>(hp_.head_dim));
  const size_t rows = static_cast<size_t>(n_batch);
  x_ = buffer<float>(rows * hp_.n_embd);
  normed_ = buffer<float>(rows * hp_.n_embd);
  q_ = buffer<float>(rows * hp_.n_embd_q());
  k_ = buffer<float>(rows * hp_.n_embd_kv());
  v_ = buffer<float>(rows * hp_.n_embd_kv());
  attn_ = buffer<float>(rows * hp_.n_embd_q());
  gate_ = buffer<float>(rows * hp_.n_ff);
  up_ = buffer<float>(rows * hp_.n_ff);
  q_positions_ = buffer<int32_t>(rows);
  k_positions_ = buffer<int32_t>(rows);
}

const float* ForwardPass::norm_weight(const F32Vector& weight) const {
  return faults_.skip_norm_weight ? nullptr : weight.data;
}

void ForwardPass::eval(KvCache& cache, const int32_t* tokens, int n, bool all_logits, float* logits,
                       const Interrupter* interrupter) {
  const size_t n_vocab = static_cast<size_t>(hp_.n_vocab);
  for (int start = 0, count = 0; start < n; start += count) {
    count = next_step_size(n - start, n_batch_);
    const bool last_batch = start + count == n;
    const int pos0 = cache.n_filled();
    if (all_logits) {
      eval_batch(cache, tokens + start, count, pos0, 0, count, logits + static_cast<size_t>(start) * n_vocab, interrupter);
    } else if (last_batch && logits != nullptr) {
      eval_batch(cache, tokens + start, count, pos0, count - 1, 1, logits, interrupter);
    } else {
      eval_batch(cache, tokens + start, count, pos0, count, 0, nullptr, interrupter);
    }
    cache.commit(count);
  }
}

void ForwardPass::eval_batch(const KvCache& cache, const int32_t* tokens, int n, int pos0, int out_first, int out_count,
                             float* logits, const Interrupter* interrupter) {
  const int shift = faults_.kv_position_off_by_one ? 1 : 0;
  for (int t = 0; t < n; ++t) {
    q_positions_[t] = pos0 + t;
    k_positions_[t] = pos0 + t + shift;
  }
  backend_.get_rows(model_.token_embd(), tokens, n, x_.get());
  for (int il = 0; il < hp_.n_layer; ++il) {
    if (interrupter && interrupter->interrupted()) {
      backend_.finish();
      throw Interrupted();
    }
    // As llama.cpp does, the last layer runs its FFN only for the rows whose logits are
    // wanted; with none wanted, only K and V are stored.
    const bool last = il == hp_.n_layer - 1;
    layer(cache.layer(il), il, n, pos0, last ? out_first : 0, last ? out_count : n);
  }
  if (out_count > 0) {
    float* x_out = x_.get() + static_cast<size_t>(out_first) * hp_.n_embd;
    backend_.rms_norm(x_out, norm_weight(model_.output_norm()), out_count, hp_.n_embd, hp_.rms_eps, normed_.get());
    backend_.matmul(model_.output(), normed_.get(), out_count, logits);
    if (const auto& bias = model_.output_bias()) backend_.add_bias(logits, bias->data, out_count, hp_.n_vocab);
  }
  backend_.finish();
}

void ForwardPass::layer(const KvLayerView& kv, int il, int n, int pos0, int out_first, int out_count) {
  const LayerWeights& w = model_.layers()[static_cast<size_t>(il)];
  const int n_embd = hp_.n_embd;

  // Attention block.
  backend_.rms_norm(x_.get(), norm_weight(w.attn_norm), n, n_embd, hp_.rms_eps, normed_.get());
  const MatmulTarget qkv[] = {{&w.wq, q_.get()}, {&w.wk, k_.get()}, {&w.wv, v_.get()}};
  backend_.matmul_shared_input(qkv, 3, normed_.get(), n);
  if (!faults_.drop_qkv_bias) {
    if (w.bq) backend_.add_bias(q_.get(), w.bq->data, n, hp_.n_embd_q());
    if (w.bk) backend_.add_bias(k_.get(), w.bk->data, n, hp_.n_embd_kv());
    if (w.bv) backend_.add_bias(v_.get(), w.bv->data, n, hp_.n_embd_kv());
  }
  backend_.rope(q_.get(), n, hp_.n_head, hp_.head_dim, q_positions_.get(), rope_);
  backend_.rope(k_.get(), n, hp_.n_head_kv, hp_.head_dim, k_positions_.get(), rope_);
  backend_.store_kv(kv, k_.get(), v_.get(), n, pos0);
  if (out_count == 0) return;  // nothing downstream reads this layer's output
  backend_.attention(kv, q_.get(), n, pos0, attention_, attn_.get());
  backend_.matmul(w.wo, attn_.get(), n, normed_.get());
  // From here on only the output rows (llama.cpp selects them after the attention block).
  float* x_out = x_.get() + static_cast<size_t>(out_first) * n_embd;
  const int64_t n_out = static_cast<int64_t>(out_count) * n_embd;
  backend_.add(x_out, normed_.get() + static_cast<size_t>(out_first) * n_embd, n_out);

  // Feed-forward block.
  backend_.rms_norm(x_out, norm_weight(w.ffn_norm), out_count, n_embd, hp_.rms_eps, normed_.get());
  const MatmulTarget gate_up[] = {{&w.ffn_gate, gate_.get()}, {&w.ffn_up, up_.get()}};
  backend_.matmul_shared_input(gate_up, 2, normed_.get(), out_count);
  backend_.matmul_swiglu(w.ffn_down, gate_.get(), up_.get(), out_count, normed_.get());
  backend_.add(x_out, normed_.get(), n_out);
}

}  // namespace alloy
