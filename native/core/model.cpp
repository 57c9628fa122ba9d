#include "model.h"

#include <limits>
#include <set>
#include <string>

#include "error.h"

namespace alloy {

namespace {

std::string arch_name(Architecture arch) {
  switch (arch) {
    case Architecture::llama: return "llama";
    case Architecture::qwen2: return "qwen2";
  }
  return "?";
}

// llama.cpp's llama_model_rope_type: llama rotates consecutive pairs, qwen2 NEOX halves.
RopeMode rope_mode_for(Architecture arch) {
  switch (arch) {
    case Architecture::llama: return RopeMode::normal;
    case Architecture::qwen2: return RopeMode::neox;
  }
  return RopeMode::normal;
}

std::string shape_text(const int64_t* ne, int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

}  // namespace

// Reads the hyper-parameters and binds the tensors of one file; records every tensor it
// binds so that tensors the graph would ignore can be refused.
class ModelBinder {
 public:
  explicit ModelBinder(const GgufFile& file) : file_(file) {}

  HyperParams read_hparams() {
    const std::string arch_text(file_.require_string("general.architecture"));
    const std::optional<Architecture> arch = architecture_from_name(arch_text);
    if (!arch) {
      throw Error(ErrorKind::unsupported_architecture,
                  "architecture '" + arch_text + "' is not supported (supported: llama, qwen2)");
    }
    prefix_ = arch_text + ".";
    HyperParams hp;
    hp.arch = *arch;
    hp.n_ctx_train = positive(file_.require_uint(prefix_ + "context_length"), "context_length");
    hp.n_embd = positive(file_.require_uint(prefix_ + "embedding_length"), "embedding_length");
    hp.n_layer = positive(file_.require_uint(prefix_ + "block_count"), "block_count");
    hp.n_ff = positive(uniform_uint("feed_forward_length", std::nullopt), "feed_forward_length");
    hp.n_head = positive(uniform_uint("attention.head_count", std::nullopt), "attention.head_count");
    hp.n_head_kv = positive(uniform_uint("attention.head_count_kv", hp.n_head), "attention.head_count_kv");
    hp.rms_eps = static_cast<float>(file_.require_float(prefix_ + "attention.layer_norm_rms_epsilon"));
    if (hp.n_embd % hp.n_head != 0 || hp.n_head % hp.n_head_kv != 0) {
      throw Error(ErrorKind::invalid_metadata, "head counts " + std::to_string(hp.n_head) + " / " +
                                                   std::to_string(hp.n_head_kv) + " do not divide the embedding " +
                                                   std::to_string(hp.n_embd));
    }
    hp.head_dim = hp.n_embd / hp.n_head;
    for (const char* key : {"attention.key_length", "attention.value_length"}) {
      const std::optional<uint64_t> len = optional_uint(key);
      if (len && *len != static_cast<uint64_t>(hp.head_dim)) {
        throw Error(ErrorKind::unsupported_architecture, prefix_ + key + " = " + std::to_string(*len) +
                                                             " differs from embedding / heads = " + std::to_string(hp.head_dim));
      }
    }
    read_rope(hp);
    hp.n_vocab = read_n_vocab();
    return hp;
  }

  // A 2-D matrix of a type the engine computes with.
  WeightView matrix(const std::string& name, int64_t n_cols, int64_t n_rows) {
    const GgufTensorInfo& t = tensor(name, n_cols, n_rows);
    if (!is_supported_weight_type(t.type)) {
      throw Error(ErrorKind::unsupported_tensor_type,
                  "tensor '" + name + "' has type " + std::string(ggml_type_name(t.type)) +
                      ", which the engine does not compute with (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, "
                      "Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)");
    }
    WeightView w;
    w.name = t.name;
    w.type = t.type;
    w.n_cols = n_cols;
    w.n_rows = n_rows;
    const std::optional<uint64_t> row_bytes = ggml_row_bytes(t.type, static_cast<uint64_t>(n_cols));
    if (!row_bytes || *row_bytes * static_cast<uint64_t>(n_rows) != t.n_bytes) {
      throw Error(ErrorKind::invalid_tensor, "tensor '" + name + "' has a row length that does not fit its type");
    }
    w.row_bytes = static_cast<size_t>(*row_bytes);
    w.bytes = file_.tensor_bytes(t);
    return w;
  }

  // A 1-D F32 vector (norm weight, bias).
  F32Vector vector(const std::string& name, int64_t n) {
    const GgufTensorInfo& t = tensor(name, n, 1);
    if (t.type != GgmlType::F32) {
      throw Error(ErrorKind::unsupported_tensor_type, "tensor '" + name + "' has type " +
                                                          std::string(ggml_type_name(t.type)) +
                                                          "; norm weights and biases must be F32");
    }
    const ByteSpan bytes = file_.tensor_bytes(t);
    if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) != 0) {
      throw Error(ErrorKind::invalid_tensor, "tensor '" + name + "' is not aligned for F32 access");
    }
    return F32Vector{t.name, reinterpret_cast<const float*>(bytes.data()), n};
  }

  bool has(const std::string& name) const { return file_.find_tensor(name) != nullptr; }

  std::optional<F32Vector> optional_vector(const std::string& name, int64_t n) {
    if (!has(name)) return std::nullopt;
    return vector(name, n);
  }

  // Every tensor of the file must be one the graph uses: anything else belongs to a model
  // variant the engine would run wrong.
  void check_all_bound(Architecture arch) const {
    for (const GgufTensorInfo& t : file_.tensors()) {
      if (bound_.count(std::string(t.name)) == 0) {
        throw Error(ErrorKind::unsupported_architecture,
                    "tensor '" + std::string(t.name) + "' is not part of the " + arch_name(arch) +
                        " graph the engine runs (an unsupported model variant)");
      }
    }
  }

 private:
  static int positive(uint64_t v, const char* what) {
    if (v == 0 || v > static_cast<uint64_t>(std::numeric_limits<int>::max() / 16)) {
      throw Error(ErrorKind::invalid_metadata, std::string(what) + " = " + std::to_string(v) + " is out of range");
    }
    return static_cast<int>(v);
  }

  // An integer key that llama.cpp also accepts as a per-layer array (get_key_or_arr): the
  // engine runs only models where every layer has the same value.
  uint64_t uniform_uint(const char* name, std::optional<uint64_t> fallback) const {
    const std::string key = prefix_ + name;
    const GgufValue* v = file_.find(key);
    if (!v) {
      if (fallback) return *fallback;
      throw Error(ErrorKind::missing_key, "required key '" + key + "' is missing");
    }
    if (const std::optional<uint64_t> u = v->as_uint()) return *u;
    const std::optional<std::vector<int32_t>> values = v->array_as_ints();
    if (!values || values->empty() || (*values)[0] < 0) {
      throw Error(ErrorKind::invalid_metadata, "key '" + key + "' must be a non-negative integer");
    }
    for (const int32_t x : *values) {
      if (x != (*values)[0]) {
        throw Error(ErrorKind::unsupported_architecture, "per-layer values of '" + key + "' are not supported");
      }
    }
    return static_cast<uint64_t>((*values)[0]);
  }

  std::optional<uint64_t> optional_uint(const char* name) const {
    const std::string key = prefix_ + name;
    if (!file_.find(key)) return std::nullopt;
    return file_.require_uint(key);
  }

  std::optional<float> optional_float(const std::string& name) const {
    const std::string key = prefix_ + name;
    if (!file_.find(key)) return std::nullopt;
    return static_cast<float>(file_.require_float(key));
  }

  // llama.cpp: freq_base defaults to 10000; scaling type "linear" unless given ("none" turns
  // the factor off); freq_scale = 1 / rope.scaling.factor (or rope.scale_linear); n_rot
  // defaults to the head size and, for both architectures, must equal it.
  void read_rope(HyperParams& hp) const {
    RopeParams& rope = hp.rope;
    rope.mode = rope_mode_for(hp.arch);
    rope.freq_base = optional_float("rope.freq_base").value_or(10000.0f);
    const std::optional<uint64_t> n_rot = optional_uint("rope.dimension_count");
    rope.n_rot = n_rot ? static_cast<int>(*n_rot) : hp.head_dim;
    if (rope.n_rot != hp.head_dim) {
      throw Error(ErrorKind::invalid_metadata, prefix_ + "rope.dimension_count = " + std::to_string(rope.n_rot) +
                                                   ", expected the head size " + std::to_string(hp.head_dim));
    }
    std::string scaling = "linear";
    if (file_.find(prefix_ + "rope.scaling.type")) scaling = std::string(file_.require_string(prefix_ + "rope.scaling.type"));
    if (scaling != "linear" && scaling != "none") {
      throw Error(ErrorKind::unsupported_architecture, "RoPE scaling '" + scaling + "' is not supported (only none and linear)");
    }
    std::optional<float> factor = optional_float("rope.scaling.factor");
    if (!factor) factor = optional_float("rope.scale_linear");
    rope.freq_scale = (scaling == "none" || !factor || *factor == 0.0f) ? 1.0f : 1.0f / *factor;
    rope.attn_factor = optional_float("rope.scaling.attn_factor").value_or(1.0f);
  }

  // llama.cpp sizes the vocabulary from the tokenizer; without one, from the embeddings.
  int read_n_vocab() const {
    if (file_.find("tokenizer.ggml.tokens")) {
      return positive(file_.require_array("tokenizer.ggml.tokens", GgufValueType::STRING).array_count, "vocabulary size");
    }
    const GgufTensorInfo* embd = file_.find_tensor("token_embd.weight");
    if (!embd) throw Error(ErrorKind::invalid_tensor, "missing tensor 'token_embd.weight'");
    return positive(static_cast<uint64_t>(embd->ne[1]), "vocabulary size");
  }

  const GgufTensorInfo& tensor(const std::string& name, int64_t ne0, int64_t ne1) {
    const GgufTensorInfo* t = file_.find_tensor(name);
    if (!t) throw Error(ErrorKind::invalid_tensor, "missing tensor '" + name + "'");
    const int64_t expected[4] = {ne0, ne1, 1, 1};
    for (int i = 0; i < 4; ++i) {
      if (t->ne[i] != expected[i]) {
        throw Error(ErrorKind::invalid_tensor, "tensor '" + name + "' has shape " + shape_text(t->ne, 4) +
                                                   ", expected " + shape_text(expected, ne1 == 1 ? 1 : 2));
      }
    }
    bound_.insert(name);
    return *t;
  }

  const GgufFile& file_;
  std::string prefix_;
  std::set<std::string> bound_;
};

std::shared_ptr<const Model> Model::load(std::shared_ptr<const GgufFile> file) {
  if (!file) throw Error(ErrorKind::internal, "Model::load without a file");
  if (file->tensors().empty()) {
    throw Error(ErrorKind::invalid_tensor, "'" + file->path() + "' holds a vocabulary only: it has no weights to run");
  }
  std::shared_ptr<Model> m(new Model());
  ModelBinder b(*file);
  m->hparams_ = b.read_hparams();
  const HyperParams& hp = m->hparams_;
  m->token_embd_ = b.matrix("token_embd.weight", hp.n_embd, hp.n_vocab);
  m->output_norm_ = b.vector("output_norm.weight", hp.n_embd);
  m->tied_output_ = !b.has("output.weight");
  if (!m->tied_output_) m->output_ = b.matrix("output.weight", hp.n_embd, hp.n_vocab);
  if (hp.arch == Architecture::qwen2) m->output_bias_ = b.optional_vector("output.bias", hp.n_vocab);
  m->layers_.resize(static_cast<size_t>(hp.n_layer));
  for (int il = 0; il < hp.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    LayerWeights& l = m->layers_[static_cast<size_t>(il)];
    l.attn_norm = b.vector(p + "attn_norm.weight", hp.n_embd);
    l.wq = b.matrix(p + "attn_q.weight", hp.n_embd, hp.n_embd_q());
    l.wk = b.matrix(p + "attn_k.weight", hp.n_embd, hp.n_embd_kv());
    l.wv = b.matrix(p + "attn_v.weight", hp.n_embd, hp.n_embd_kv());
    l.bq = b.optional_vector(p + "attn_q.bias", hp.n_embd_q());
    l.bk = b.optional_vector(p + "attn_k.bias", hp.n_embd_kv());
    l.bv = b.optional_vector(p + "attn_v.bias", hp.n_embd_kv());
    l.wo = b.matrix(p + "attn_output.weight", hp.n_embd_q(), hp.n_embd);
    l.ffn_norm = b.vector(p + "ffn_norm.weight", hp.n_embd);
    l.ffn_gate = b.matrix(p + "ffn_gate.weight", hp.n_embd, hp.n_ff);
    l.ffn_up = b.matrix(p + "ffn_up.weight", hp.n_embd, hp.n_ff);
    l.ffn_down = b.matrix(p + "ffn_down.weight", hp.n_ff, hp.n_embd);
  }
  b.check_all_bound(hp.arch);
  m->file_ = std::move(file);
  return m;
}

std::shared_ptr<const Model> Model::open(const std::string& path) {
  return load(std::make_shared<const GgufFile>(GgufFile::open(path)));
}

std::vector<const WeightView*> Model::matrices() const {
  std::vector<const WeightView*> out = {&token_embd_};
  if (!tied_output_) out.push_back(&output_);
  for (const LayerWeights& l : layers_) {
    for (const WeightView* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down}) out.push_back(w);
  }
  return out;
}

}  // namespace alloy
