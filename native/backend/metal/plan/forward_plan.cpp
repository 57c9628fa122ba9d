#include "backend/metal/plan/forward_plan.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/metal/kernels/kernel_args.h"
#include "core/error.h"

namespace alloy::metal {

namespace {

constexpr uint32_t kSimdWidth = 32;
constexpr uint32_t kElementwiseThreads = 256;  // threads per threadgroup of the element-wise kernels

template <class T>
std::vector<uint8_t> bytes_of(const T& value) {
  std::vector<uint8_t> bytes(sizeof value);
  std::memcpy(bytes.data(), &value, sizeof value);
  return bytes;
}

uint32_t ceil_div(uint64_t a, uint64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }

// The type part of the kernels' host names, and the rows a matvec SIMD group computes. Every
// type here has the matvec kernels (kernel_mv_<suffix>_*) and the embedding kernel
// (kernel_get_rows_<suffix>).
struct TypeInfo {
  const char* suffix;
  int matvec_rows;
};

TypeInfo type_info(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return {"f32", kargs::kMatVecF32Rows};
    case GgmlType::F16: return {"f16", kargs::kMatVecF16Rows};
    case GgmlType::BF16: return {"bf16", kargs::kMatVecBF16Rows};
    case GgmlType::Q4_0: return {"q4_0", kargs::kMatVecQ4_0Rows};
    case GgmlType::Q4_1: return {"q4_1", kargs::kMatVecQ4_1Rows};
    case GgmlType::Q5_0: return {"q5_0", kargs::kMatVecQ5_0Rows};
    case GgmlType::Q5_1: return {"q5_1", kargs::kMatVecQ5_1Rows};
    case GgmlType::Q8_0: return {"q8_0", kargs::kMatVecQ8_0Rows};
    case GgmlType::Q2_K: return {"q2_K", kargs::kMatVecQ2_KRows};
    case GgmlType::Q3_K: return {"q3_K", kargs::kMatVecQ3_KRows};
    case GgmlType::Q4_K: return {"q4_K", kargs::kMatVecQ4_KRows};
    case GgmlType::Q5_K: return {"q5_K", kargs::kMatVecQ5_KRows};
    case GgmlType::Q6_K: return {"q6_K", kargs::kMatVecQ6_KRows};
    default: break;
  }
  throw Error(ErrorKind::unsupported_tensor_type,
              std::string("no Metal kernels for weight type ") + std::string(ggml_type_name(type)));
}

// One float-row region of a scratch buffer: `rows` rows of `width` floats.
struct Rows {
  BufferId buffer;
  uint64_t offset;  // bytes
  uint64_t width;   // floats per row (the row stride)
  uint64_t rows;
  uint64_t bytes() const { return rows * width * sizeof(float); }
};

class Builder {
 public:
  Builder(const Model& model, const StepShape& step) : model_(model), hp_(model.hparams()), step_(step) {}

  uint64_t file_offset(const uint8_t* p) const {
    return static_cast<uint64_t>(p - model_.file().file_bytes().data());
  }
  Binding weights(uint32_t slot, const uint8_t* p, uint64_t bytes) const {
    return {slot, BufferId::weights, file_offset(p), bytes, Access::read};
  }
  Binding unused(uint32_t slot) const { return {slot, BufferId::weights, 0, 0, Access::read}; }
  static Binding rows(uint32_t slot, const Rows& r, Access access) { return {slot, r.buffer, r.offset, r.bytes(), access}; }

  kargs::MatVecFused fused_args(const WeightView& w, const Rows& in, const F32Vector* bias, const Rows& out) const {
    kargs::MatVecFused args{};
    args.shape.n_cols = static_cast<int32_t>(w.n_cols);
    args.shape.n_rows = static_cast<int32_t>(w.n_rows);
    args.shape.row_bytes = w.row_bytes;
    args.shape.x_stride = in.width;
    args.shape.y_stride = out.width;
    args.eps = hp_.rms_eps;
    args.has_bias = bias != nullptr;
    return args;
  }
  Binding vector(uint32_t slot, const F32Vector* v) const {
    return v != nullptr ? weights(slot, reinterpret_cast<const uint8_t*>(v->data), v->n * sizeof(float)) : unused(slot);
  }
  static uint32_t matvec_groups(const TypeInfo& info, int64_t n_rows) {
    return ceil_div(static_cast<uint64_t>(n_rows), static_cast<uint64_t>(info.matvec_rows) * kargs::kMatVecSimdgroups);
  }
  Dispatch matvec_dispatch(const std::string& pipeline, uint32_t groups, const Rows& in, int layer) const {
    Dispatch d;
    d.pipeline = pipeline;
    d.layer = layer;
    d.threadgroups = {groups, static_cast<uint32_t>(in.rows), 1};
    d.threads_per_threadgroup = {kSimdWidth * kargs::kMatVecSimdgroups, 1, 1};
    d.threadgroup_memory = {static_cast<uint32_t>(kargs::kMatVecPartials * sizeof(float))};
    return d;
  }

  // out (+)= W . in for in.rows tokens; norm: the RMSNorm weight fused into the input.
  void matvec(const char* variant, const WeightView& w, const WeightView* up, const Rows& in, const F32Vector* norm,
              const F32Vector* bias, const Rows& out, Access out_access, int layer) {
    const TypeInfo info = type_info(w.type);
    Dispatch d = matvec_dispatch(std::string("kernel_mv_") + info.suffix + "_" + variant, matvec_groups(info, w.n_rows), in, layer);
    d.args = bytes_of(fused_args(w, in, bias, out));
    d.bindings = {weights(1, w.bytes.data(), w.bytes.size()),
                  up != nullptr ? weights(2, up->bytes.data(), up->bytes.size()) : unused(2),
                  rows(3, in, Access::read),
                  vector(4, norm),
                  vector(5, bias),
                  rows(6, out, out_access)};
    plan_.dispatches.push_back(std::move(d));
  }

  // Prompt steps of kargs::kMatMulMinTokens tokens or more (the mm kernels, which have no
  // fused norm or SwiGLU, so those take dispatches of their own).
  bool prompt_matmul(uint64_t n_rows) const { return n_rows >= static_cast<uint64_t>(kargs::kMatMulMinTokens); }

  // out (+)= W . in (+ bias) for in.rows tokens with kernel_mm_<type> (kargs::MatMul).
  void matmul(const WeightView& w, const Rows& in, const F32Vector* bias, const Rows& out, bool add, int layer) {
    kargs::MatMul args{};
    args.n_cols = static_cast<int32_t>(w.n_cols);
    args.n_rows = static_cast<int32_t>(w.n_rows);
    args.n_tokens = static_cast<int32_t>(in.rows);
    args.flags = (bias != nullptr ? kargs::kMatMulBias : 0) | (add ? kargs::kMatMulAdd : 0);
    args.row_bytes = w.row_bytes;
    args.x_stride = in.width;
    args.y_stride = out.width;
    // The weight tile's element (matmul.metal): float for F32 and BF16, half for the others.
    const uint32_t tile_element = w.type == GgmlType::F32 || w.type == GgmlType::BF16 ? 4 : 2;
    Dispatch d;
    d.pipeline = std::string("kernel_mm_") + type_info(w.type).suffix;
    d.layer = layer;
    d.threadgroups = {ceil_div(static_cast<uint64_t>(w.n_rows), kargs::kMatMulRows), ceil_div(in.rows, kargs::kMatMulTokens), 1};
    d.threads_per_threadgroup = {kSimdWidth * kargs::kMatMulSimdgroups, 1, 1};
    d.args = bytes_of(args);
    d.bindings = {weights(1, w.bytes.data(), w.bytes.size()), rows(2, in, Access::read), vector(3, bias),
                  rows(4, out, add ? Access::read_write : Access::write)};
    d.threadgroup_memory = {kargs::kMatMulRows * kargs::kMatMulK * tile_element,
                            static_cast<uint32_t>(kargs::kMatMulTokens * kargs::kMatMulK * sizeof(float)),
                            static_cast<uint32_t>(kargs::kMatMulTokens * kargs::kMatMulRows * sizeof(float))};
    plan_.dispatches.push_back(std::move(d));
  }

  // out = RMSNorm(in) * weight (kernel_rms_norm_f32; out has in's row stride).
  void rms_norm(const Rows& in, const F32Vector& weight, const Rows& out, int layer) {
    kargs::RmsNorm args{};
    args.n = static_cast<int32_t>(hp_.n_embd);
    args.has_weight = 1;
    args.eps = hp_.rms_eps;
    args.row_stride = in.width;
    Dispatch d;
    d.pipeline = "kernel_rms_norm_f32";
    d.layer = layer;
    d.threadgroups = {static_cast<uint32_t>(in.rows), 1, 1};
    d.threads_per_threadgroup = {kElementwiseThreads, 1, 1};
    d.args = bytes_of(args);
    d.bindings = {rows(1, in, Access::read), vector(2, &weight), rows(3, out, Access::write)};
    d.threadgroup_memory = {static_cast<uint32_t>(kargs::kRmsNormPartials * sizeof(float))};
    plan_.dispatches.push_back(std::move(d));
  }

  // gate = silu(gate) * up, in place (kernel_swiglu_f32).
  void swiglu(const Rows& gate, const Rows& up, int layer) {
    kargs::Swiglu args{};
    args.n = static_cast<int32_t>(hp_.n_ff);
    args.gate_stride = gate.width;
    args.up_stride = up.width;
    args.out_stride = gate.width;
    Dispatch d;
    d.pipeline = "kernel_swiglu_f32";
    d.layer = layer;
    d.threadgroups = {ceil_div(static_cast<uint64_t>(hp_.n_ff), kElementwiseThreads), static_cast<uint32_t>(gate.rows), 1};
    d.threads_per_threadgroup = {kElementwiseThreads, 1, 1};
    d.args = bytes_of(args);
    d.bindings = {rows(1, gate, Access::read), rows(2, up, Access::read), rows(3, gate, Access::write)};
    plan_.dispatches.push_back(std::move(d));
  }

  // q, k, v = RMSNorm(x) . Wq / Wk / Wv (+ biases): one dispatch when the three share a type,
  // else three (some Q4_K_M layers give V another type).
  void qkv(const LayerWeights& w, const Rows& x, const Rows& q, const Rows& k, const Rows& v, int layer) {
    const F32Vector* bq = w.bq ? &*w.bq : nullptr;
    const F32Vector* bk = w.bk ? &*w.bk : nullptr;
    const F32Vector* bv = w.bv ? &*w.bv : nullptr;
    if (w.wq.type != w.wk.type || w.wq.type != w.wv.type) {
      matvec("norm_store", w.wq, nullptr, x, &w.attn_norm, bq, q, Access::write, layer);
      matvec("norm_store", w.wk, nullptr, x, &w.attn_norm, bk, k, Access::write, layer);
      matvec("norm_store", w.wv, nullptr, x, &w.attn_norm, bv, v, Access::write, layer);
      return;
    }
    const TypeInfo info = type_info(w.wq.type);
    kargs::MatVecQkv args{};
    args.q = fused_args(w.wq, x, bq, q);
    args.n_kv_rows = static_cast<int32_t>(w.wk.n_rows);
    args.has_bias_k = bk != nullptr;
    args.has_bias_v = bv != nullptr;
    args.kv_y_stride = k.width;
    const uint32_t groups = matvec_groups(info, w.wq.n_rows) + 2 * matvec_groups(info, w.wk.n_rows);
    Dispatch d = matvec_dispatch(std::string("kernel_mv_") + info.suffix + "_norm_qkv", groups, x, layer);
    d.args = bytes_of(args);
    d.bindings = {weights(1, w.wq.bytes.data(), w.wq.bytes.size()), weights(2, w.wk.bytes.data(), w.wk.bytes.size()),
                  rows(3, x, Access::read), vector(4, &w.attn_norm), vector(5, bq), rows(6, q, Access::write),
                  weights(7, w.wv.bytes.data(), w.wv.bytes.size()), vector(8, bk), vector(9, bv),
                  rows(10, k, Access::write), rows(11, v, Access::write)};
    plan_.dispatches.push_back(std::move(d));
  }

  void get_rows(const Rows& x) {
    const WeightView& w = model_.token_embd();
    const TypeInfo info = type_info(w.type);  // throws unsupported_tensor_type for a type without kernels
    kargs::GetRows args{};
    args.n_cols = static_cast<int32_t>(w.n_cols);
    args.row_bytes = w.row_bytes;
    args.out_stride = x.width;
    Dispatch d;
    d.pipeline = std::string("kernel_get_rows_") + info.suffix;
    d.threadgroups = {1, static_cast<uint32_t>(x.rows), 1};  // one threadgroup per id (kargs::GetRows)
    d.threads_per_threadgroup = {kElementwiseThreads, 1, 1};
    d.args = bytes_of(args);
    d.bindings = {weights(1, w.bytes.data(), w.bytes.size()),
                  {2, BufferId::ids, 0, x.rows * sizeof(int32_t), Access::read},
                  rows(3, x, Access::write)};
    plan_.dispatches.push_back(std::move(d));
  }

  // Layer `layer`'s K (slot k_slot) and V (the next slot) in the kv buffer.
  std::vector<Binding> kv_bindings(uint32_t k_slot, int layer, Access access) const {
    const uint64_t half_bytes = static_cast<uint64_t>(step_.kv_capacity) * static_cast<uint64_t>(hp_.n_embd_kv()) * 2;
    const uint64_t offset = kv_layer_offset(hp_, step_.kv_capacity, layer);
    return {{k_slot, BufferId::kv, offset, half_bytes, access}, {k_slot + 1, BufferId::kv, offset + half_bytes, half_bytes, access}};
  }

  // RoPE of Q (in place) and K, K and V into layer `layer`'s F16 cache.
  void rope_store(const Rows& q, const Rows& k, const Rows& v, int layer) {
    const RopeParams& rp = hp_.rope;
    const uint64_t n_embd_kv = static_cast<uint64_t>(hp_.n_embd_kv());
    kargs::RopeStore args{};
    args.rope.n_heads = hp_.n_head;
    args.rope.head_dim = hp_.head_dim;
    args.rope.n_rot = rp.n_rot;
    args.rope.mode = rp.mode == RopeMode::neox ? kargs::kRopeModeNeox : kargs::kRopeModeNormal;
    args.rope.theta_scale = std::pow(rp.freq_base, -2.0f / static_cast<float>(rp.n_rot));  // rope_cache's expression
    args.rope.freq_scale = rp.freq_scale;
    args.rope.attn_factor = rp.attn_factor;
    args.rope.row_stride = q.width;
    args.store.n_embd_kv = static_cast<int32_t>(n_embd_kv);
    args.store.pos0 = step_.pos0;
    args.store.capacity = step_.kv_capacity;
    args.store.k_stride = k.width;
    args.store.v_stride = v.width;
    const uint64_t threads = static_cast<uint64_t>(hp_.n_head) * static_cast<uint64_t>(rp.n_rot / 2) + n_embd_kv;
    Dispatch d;
    d.pipeline = "kernel_rope_store_f16";
    d.layer = layer;
    d.threadgroups = {ceil_div(threads, kElementwiseThreads), static_cast<uint32_t>(q.rows), 1};
    d.threads_per_threadgroup = {kElementwiseThreads, 1, 1};
    d.args = bytes_of(args);
    const Binding positions{1, BufferId::positions, 0, q.rows * sizeof(int32_t), Access::read};
    d.bindings = {positions, {2, positions.buffer, 0, positions.bytes, Access::read}, rows(3, q, Access::read_write),
                  rows(4, k, Access::read), rows(5, v, Access::read)};
    for (const Binding& b : kv_bindings(6, layer, Access::write)) d.bindings.push_back(b);
    plan_.dispatches.push_back(std::move(d));
  }

  void attention(const Rows& q, const Rows& out, int layer) {
    kargs::Attention args{};
    args.n_tokens = step_.n_tokens;
    args.n_head = hp_.n_head;
    args.n_head_kv = hp_.n_head_kv;
    args.head_dim = hp_.head_dim;
    args.pos0 = step_.pos0;
    args.capacity = step_.kv_capacity;
    args.scale = 1.0f / std::sqrt(static_cast<float>(hp_.head_dim));
    args.q_stride = q.width;
    args.out_stride = out.width;
    args.k_stride = static_cast<uint64_t>(hp_.n_embd_kv());
    const bool decode = step_.n_tokens == 1;
    const uint32_t groups = decode ? kargs::kAttentionDecodeSimdgroups : kargs::kAttentionPrefillSimdgroups;
    Dispatch d;
    d.pipeline = decode ? "kernel_attention_decode_f16" : "kernel_attention_prefill_f16";
    d.layer = layer;
    d.threadgroups = {static_cast<uint32_t>(hp_.n_head), decode ? 1u : ceil_div(static_cast<uint64_t>(step_.n_tokens), groups), 1};
    d.threads_per_threadgroup = {kSimdWidth * groups, 1, 1};
    d.args = bytes_of(args);
    d.bindings = kv_bindings(2, layer, Access::read);
    d.bindings.push_back(rows(1, q, Access::read));
    d.bindings.push_back(rows(4, out, Access::write));
    constexpr uint32_t kHalf = 2, kFloat = 4;
    const uint32_t query_halves = groups * kargs::kAttentionMaxHeadDim * kHalf;
    const uint32_t probs = groups * kargs::kAttentionBlock * kFloat;
    const uint32_t merge = groups * kargs::kAttentionMergeStride * kFloat;
    d.threadgroup_memory = decode ? std::vector<uint32_t>{kargs::kAttentionMaxHeadDim * kHalf, probs, merge}
                                  : std::vector<uint32_t>{query_halves, probs};
    plan_.dispatches.push_back(std::move(d));
  }

  Plan build();

 private:
  const Model& model_;
  const HyperParams& hp_;
  const StepShape& step_;
  Plan plan_;
};

Plan Builder::build() {
  const uint64_t n = static_cast<uint64_t>(step_.n_tokens);
  const Rows x{BufferId::x, 0, static_cast<uint64_t>(hp_.n_embd), n};
  const Rows q{BufferId::q, 0, static_cast<uint64_t>(hp_.n_embd_q()), n};
  const Rows k{BufferId::k, 0, static_cast<uint64_t>(hp_.n_embd_kv()), n};
  const Rows v{BufferId::v, 0, static_cast<uint64_t>(hp_.n_embd_kv()), n};
  const Rows attn{BufferId::attn, 0, static_cast<uint64_t>(hp_.n_embd_q()), n};
  const Rows ffn{BufferId::ffn, 0, static_cast<uint64_t>(hp_.n_ff), n};
  const uint64_t n_out = step_.all_logits ? n : 1;
  const Rows last_x{BufferId::x, (n - n_out) * x.width * sizeof(float), x.width, n_out};
  const Rows logits{BufferId::logits, 0, static_cast<uint64_t>(hp_.n_vocab), n_out};

  // The mm path's extra rows live in buffers that are free at the time: the normalized input
  // in attn (before attention writes it, and after Wo has read it), the up projection in q
  // (after attention has read it); each buffer is sized for the larger use below.
  const Rows norm_x{BufferId::attn, 0, x.width, n};
  const Rows up{BufferId::q, 0, ffn.width, n};
  const Rows last_norm_x{BufferId::attn, 0, x.width, n_out};

  get_rows(x);
  for (int il = 0; il < hp_.n_layer; ++il) {
    const LayerWeights& w = model_.layers()[static_cast<size_t>(il)];
    if (w.ffn_gate.type != w.ffn_up.type) {
      throw Error(ErrorKind::unsupported_tensor_type, "Metal gate/up kernel needs both weights of one type");
    }
    if (prompt_matmul(n)) {
      rms_norm(x, w.attn_norm, norm_x, il);
      matmul(w.wq, norm_x, w.bq ? &*w.bq : nullptr, q, false, il);
      matmul(w.wk, norm_x, w.bk ? &*w.bk : nullptr, k, false, il);
      matmul(w.wv, norm_x, w.bv ? &*w.bv : nullptr, v, false, il);
    } else {
      qkv(w, x, q, k, v, il);
    }
    rope_store(q, k, v, il);
    attention(q, attn, il);
    if (prompt_matmul(n)) {
      matmul(w.wo, attn, nullptr, x, true, il);
      rms_norm(x, w.ffn_norm, norm_x, il);
      matmul(w.ffn_gate, norm_x, nullptr, ffn, false, il);
      matmul(w.ffn_up, norm_x, nullptr, up, false, il);
      swiglu(ffn, up, il);
      matmul(w.ffn_down, ffn, nullptr, x, true, il);
    } else {
      matvec("x_add", w.wo, nullptr, attn, nullptr, nullptr, x, Access::read_write, il);
      matvec("norm_swiglu", w.ffn_gate, &w.ffn_up, x, &w.ffn_norm, nullptr, ffn, Access::write, il);
      matvec("x_add", w.ffn_down, nullptr, ffn, nullptr, nullptr, x, Access::read_write, il);
    }
  }
  if (prompt_matmul(n_out)) {
    rms_norm(last_x, model_.output_norm(), last_norm_x, -1);
    matmul(model_.output(), last_norm_x, nullptr, logits, false, -1);
  } else {
    matvec("norm_store", model_.output(), nullptr, last_x, &model_.output_norm(), nullptr, logits, Access::write, -1);
  }

  plan_.buffer_bytes[static_cast<int>(BufferId::weights)] = model_.file().file_bytes().size();
  plan_.buffer_bytes[static_cast<int>(BufferId::ids)] = n * sizeof(int32_t);
  plan_.buffer_bytes[static_cast<int>(BufferId::positions)] = n * sizeof(int32_t);
  for (const Rows& r : {x, q, k, v, attn, ffn, logits}) plan_.buffer_bytes[static_cast<int>(r.buffer)] = r.bytes();
  if (prompt_matmul(n)) {
    for (const Rows& r : {norm_x, up}) {
      uint64_t& bytes = plan_.buffer_bytes[static_cast<int>(r.buffer)];
      bytes = std::max(bytes, r.bytes());
    }
  }
  plan_.buffer_bytes[static_cast<int>(BufferId::kv)] = kv_layer_offset(hp_, step_.kv_capacity, hp_.n_layer);
  return std::move(plan_);
}

}  // namespace

const char* buffer_name(BufferId id) {
  switch (id) {
    case BufferId::weights: return "weights";
    case BufferId::ids: return "ids";
    case BufferId::positions: return "positions";
    case BufferId::x: return "x";
    case BufferId::q: return "q";
    case BufferId::k: return "k";
    case BufferId::v: return "v";
    case BufferId::attn: return "attn";
    case BufferId::ffn: return "ffn";
    case BufferId::logits: return "logits";
    case BufferId::kv: return "kv";
  }
  return "?";
}

uint64_t kv_layer_offset(const HyperParams& hp, int kv_capacity, int layer) {
  return static_cast<uint64_t>(layer) * 2 * static_cast<uint64_t>(kv_capacity) * static_cast<uint64_t>(hp.n_embd_kv()) * 2;
}

Plan plan_step(const Model& model, const StepShape& step) {
  if (step.n_tokens < 1 || step.pos0 < 0 || step.kv_capacity < 1 || step.pos0 + step.n_tokens > step.kv_capacity) {
    throw Error(ErrorKind::invalid_argument, "Metal step of " + std::to_string(step.n_tokens) + " tokens at position " +
                                                 std::to_string(step.pos0) + " does not fit a cache of " +
                                                 std::to_string(step.kv_capacity));
  }
  return Builder(model, step).build();
}

}  // namespace alloy::metal
