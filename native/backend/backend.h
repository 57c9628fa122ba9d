// The compute backend interface: every operation of the transformer forward pass, so that the
// graph (core/forward.cpp) is written once and a backend decides where and how it runs.
//
// What is behind the interface and why: all of the graph's operations, not only the matmuls.
// A Metal backend must be able to encode a whole evaluation into one command buffer; if the
// element-wise steps (norm, RoPE, SwiGLU, residual adds) stayed in shared CPU code, every
// matmul would need a GPU -> CPU round trip. What stays outside, in core/: the graph order,
// the model binding (hyper-parameters, weight views), the KV cache bookkeeping (how many
// positions are filled, keep_prefix), buffer planning and sampling; none of it touches
// per-element data.
//
// Data contract: activations are row-major float arrays (one row per token) in host memory
// that the caller allocates once per context (on Apple Silicon, Metal can wrap such memory).
// Operations are issued in order; their results are visible to the host after finish().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.h"
#include "core/ggml_type.h"
#include "core/mapped_file.h"

namespace alloy {

// A 2-D weight matrix as stored in the GGUF file: n_rows rows of n_cols elements of `type`.
// Invariant: bytes.size() == n_rows * row_bytes (checked when the model is bound), so row(r)
// for r < n_rows stays inside the mapped file. The bytes are the mapping itself, never a copy.
struct WeightView {
  std::string_view name;
  GgmlType type = GgmlType::F32;
  int64_t n_cols = 0;  // ggml ne[0]: elements per row (the input dimension of a matmul)
  int64_t n_rows = 0;  // ggml ne[1]: rows (the output dimension of a matmul)
  size_t row_bytes = 0;
  ByteSpan bytes;

  const uint8_t* row(int64_t r) const {
    if (r < 0 || r >= n_rows) throw Error(ErrorKind::internal, "row index outside weight tensor");
    return bytes.data() + static_cast<size_t>(r) * row_bytes;
  }
};

// A 1-D F32 tensor (RMSNorm weight, bias) viewed in place. Invariant: data points to n
// suitably aligned floats inside the mapped file (checked when the model is bound).
struct F32Vector {
  std::string_view name;
  const float* data = nullptr;
  int64_t n = 0;
};

enum class RopeMode {
  normal,  // rotates consecutive pairs (x[2i], x[2i+1]) - llama
  neox,    // rotates (x[i], x[i + n_rot/2]) - qwen2
};

// ggml_rope_ext's parameters for the plain (non-YaRN) case the engine supports.
struct RopeParams {
  int n_rot = 0;             // leading dimensions of each head that are rotated (even)
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;   // linear context scaling: 1 / rope.scaling.factor
  float attn_factor = 1.0f;  // multiplies cos and sin
  RopeMode mode = RopeMode::normal;
};

enum class KvType { f16, f32 };

inline size_t kv_type_size(KvType type) {
  switch (type) {
    case KvType::f16: return 2;
    case KvType::f32: return 4;
  }
  return 4;
}

// One layer of a KV cache. K holds one row of n_embd_kv elements per position (the heads of a
// position side by side); V is stored transposed - channel c of position p at
// v[c * capacity + p] - so the product of attention probabilities with one V channel is a
// contiguous dot product, as in llama.cpp without flash attention.
// Invariant: k and v point to capacity * n_embd_kv elements of `type` each; capacity is a
// multiple of kKvCapacityAlignment, and positions never written hold zeros, so a backend may
// run its dot products over whole vector groups past the last valid position.
constexpr int kKvCapacityAlignment = 64;

struct KvLayerView {
  KvType type = KvType::f16;
  uint8_t* k = nullptr;
  uint8_t* v = nullptr;
  int capacity = 0;
  int n_embd_kv = 0;
};

struct AttentionShape {
  int n_head = 0;
  int n_head_kv = 0;  // n_head is a multiple of it (grouped-query attention)
  int head_dim = 0;
  float scale = 1.0f;  // applied to K.Q before the softmax
};

// One product of a matmul_shared_input call.
struct MatmulTarget {
  const WeightView* w = nullptr;
  float* out = nullptr;
};

class Backend {
 public:
  virtual ~Backend() = default;

  // out[t * w.n_rows + r] = dot(row r of w, x[t * w.n_cols ...]) for t < n_tokens, with the
  // activation row converted (once) to the form the weight type's dot product takes.
  virtual void matmul(const WeightView& w, const float* x, int n_tokens, float* out) = 0;
  // matmul(*targets[i].w, x, n_tokens, targets[i].out) for i < n_targets, weights of the same
  // width that read the same input (Q/K/V, gate/up): one call, so a backend can convert x once
  // and run the products in one pass. Same results as the separate calls.
  virtual void matmul_shared_input(const MatmulTarget* targets, int n_targets, const float* x, int n_tokens) {
    for (int i = 0; i < n_targets; ++i) matmul(*targets[i].w, x, n_tokens, targets[i].out);
  }
  // matmul(w, silu(gate) * up, n_tokens, out) with rows of w.n_cols floats: the FFN's SwiGLU and
  // down projection in one call, so a backend can convert each SwiGLU row while it is in
  // cache instead of writing it out and reading it back. gate may be overwritten. Same results
  // as swiglu then matmul.
  virtual void matmul_swiglu(const WeightView& w, float* gate, const float* up, int n_tokens, float* out) {
    swiglu(gate, up, n_tokens, static_cast<int>(w.n_cols), gate);
    matmul(w, gate, n_tokens, out);
  }
  // out[i * w.n_cols ...] = row ids[i] of w as floats (ids already validated by the caller).
  virtual void get_rows(const WeightView& w, const int32_t* ids, int n_ids, float* out) = 0;
  // y = x * (1 / sqrt(mean(x^2) + eps)) * weight per row of n floats; weight may be null
  // (treated as all ones). y may alias x.
  virtual void rms_norm(const float* x, const float* weight, int n_rows, int n, float eps, float* y) = 0;
  // y[r * n + i] += bias[i] for r < n_rows.
  virtual void add_bias(float* y, const float* bias, int n_rows, int n) = 0;
  // y[i] += x[i] for i < n.
  virtual void add(float* y, const float* x, int64_t n) = 0;
  // Rotates every head of every token in place; token t is at position positions[t].
  // Rows are n_heads * head_dim floats.
  virtual void rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
                    const RopeParams& params) = 0;
  // Writes K and V rows of n_tokens tokens (n_embd_kv floats each) at positions
  // pos0 .. pos0 + n_tokens - 1 of the cache layer.
  virtual void store_kv(const KvLayerView& kv, const float* k, const float* v, int n_tokens, int pos0) = 0;
  // Causal attention of the n_tokens query rows of a batch (n_head * head_dim floats each,
  // query t at position pos0 + t) over cache positions 0 .. pos0 + t; out rows like q.
  virtual void attention(const KvLayerView& kv, const float* q, int n_tokens, int pos0,
                         const AttentionShape& shape, float* out) = 0;
  // out = silu(gate) * up element-wise over n_rows rows of n floats; out may alias gate.
  virtual void swiglu(const float* gate, const float* up, int n_rows, int n, float* out) = 0;
  // Waits until every operation issued so far has finished and its output is readable.
  virtual void finish() = 0;
};

}  // namespace alloy
