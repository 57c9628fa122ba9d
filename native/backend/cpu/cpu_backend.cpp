#include "cpu_backend.h"

#include <algorithm>
#include <string>

#include "backend/cpu/float_dots.h"
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/cpu_features.h"
#include "backend/cpu/quant.h"
#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/tile_kernels.h"
#include "core/error.h"
#include "core/half.h"

namespace alloy::cpu {

namespace {

// Buffers sized by the cache capacity are allocated without initialization: pages stay
// untouched (not resident) until a call reaches that many positions.
template <typename T>
std::unique_ptr<T[]> uninitialized(size_t n) {
  return std::unique_ptr<T[]>(new T[n]);
}

// Buffers sized by the batch are zeroed here, so their pages are resident before the first
// prompt, which fills them all anyway (see ForwardPass::buffer).
template <typename T>
std::unique_ptr<T[]> resident(size_t n) {
  return std::unique_ptr<T[]>(new T[n]());
}

// Weight bytes of one chunk of rows in a tiled matmul (about two thirds of a 48 KiB L1).
constexpr size_t kTileChunkBytes = 32 * 1024;

int64_t round_up(int64_t n, int64_t multiple) { return (n + multiple - 1) / multiple * multiple; }

std::optional<FloatFormat> float_format_of(GgmlType type) {
  if (type == GgmlType::F32) return FloatFormat::f32;
  if (type == GgmlType::F16) return FloatFormat::f16;
  return std::nullopt;  // BF16 and block types: quant.h's vec_dot
}

FloatFormat float_format_of(KvType type) {
  switch (type) {
    case KvType::f16: return FloatFormat::f16;
    case KvType::f32: return FloatFormat::f32;
  }
  return FloatFormat::f32;
}

}  // namespace

CpuBackend::CpuBackend(const CpuBackendConfig& config, const std::vector<const WeightView*>& weights)
    : config_(config), pool_(config.n_threads), stealing_(config.n_threads) {
  if (config.max_tokens < 1 || config.max_kv < 0 || config.max_heads < 0 || config.max_head_dim < 0) {
    throw Error(ErrorKind::internal, "CPU backend sizes must not be negative");
  }
  for (const WeightView* w : weights) {
    const ActType act = activation_type_for(w->type);
    if (act == ActType::f32) continue;  // F32 activations are passed as they are
    max_activation_row_bytes_ = std::max(max_activation_row_bytes_, activation_row_bytes(act, w->n_cols));
    max_converted_cols_ = std::max(max_converted_cols_, w->n_cols);
  }
  activations_ = resident<uint8_t>(max_activation_row_bytes_ * static_cast<size_t>(config.max_tokens));
  const size_t kv = static_cast<size_t>(round_up(config.max_kv, kKvCapacityAlignment));
  const size_t head = static_cast<size_t>(config.max_head_dim);
  size_t amx_operand_bytes = 0;  // per thread, when AMX runs the prompt matmuls
  if (has_avx512_vnni(active_simd_level())) {
    for (const WeightView* w : weights) {
      if (!packable(*w) || packed_.count(w->bytes.data()) != 0) continue;
      packed_.emplace(w->bytes.data(), pack_matrix(*w, pool_));
      packed_sources_.push_back(w->bytes);
      if (activation_type_for(w->type) == ActType::q8_0) {
        max_packed_sums_ = std::max<int64_t>(max_packed_sums_, w->n_cols / kQK * packed_sum_groups(w->type));
      }
    }
    const size_t sums = static_cast<size_t>(max_packed_sums_) * static_cast<size_t>(config.max_tokens);
    block_sums_ = resident<int32_t>(sums);
    amx_ = has_amx(active_simd_level()) && config.max_tokens >= kAmxMinTokens;
    if (amx_) {
      // The AMX kernel reads whole tiles of rows: up to max_tokens rounded up to a tile.
      const size_t tile_rows = static_cast<size_t>(round_up(config.max_tokens, kAmxTileTokens));
      act_scales_ = resident<float>(tile_rows * static_cast<size_t>(max_packed_sums_));
      act_tiles_ = resident<uint8_t>(tile_rows * static_cast<size_t>(max_packed_sums_) * kAmxTileQuants);
      for (const auto& [bytes, m] : packed_) {
        if (!amx::handles(m.type)) continue;
        amx_operand_bytes = std::max(amx_operand_bytes, amx::operand_scratch_bytes(m.n_cols / kQK, m.group_bytes));
      }
    }
  }
  scratch_.resize(static_cast<size_t>(pool_.size()));
  const size_t heads = static_cast<size_t>(std::max(config.max_heads, 1));
#if defined(__x86_64__) || defined(_M_X64)
  prompt_blocks_ = has_avx512_vnni(active_simd_level()) && config.max_tokens >= 2 && config.max_kv > 0;
#endif
  for (ThreadScratch& s : scratch_) {
    s.scores = uninitialized<float>(heads * kv);
    s.probs16 = uninitialized<uint16_t>(heads * kv);
    s.q16 = uninitialized<uint16_t>(heads * head);
    s.rope_cache = uninitialized<float>(head);
    s.dots = uninitialized<float>(kMultiScratchFloats);
    s.gated = resident<float>(static_cast<size_t>(max_converted_cols_));
    if (amx_operand_bytes > 0) s.amx_operands = resident<uint8_t>(amx_operand_bytes);
    if (prompt_blocks_) {
      s.prompt_floats = uninitialized<float>(prompt_attention_floats(kv, config.max_head_dim));
      s.prompt = carve_prompt_attention(s.prompt_floats.get(), kv, config.max_head_dim);
    }
    s.vectors.resize(heads);
    s.outputs.resize(heads);
  }
}


void CpuBackend::check_rows(int n_tokens) const {
  if (n_tokens < 0 || n_tokens > config_.max_tokens) {
    throw Error(ErrorKind::internal, "backend call with " + std::to_string(n_tokens) + " rows (limit " +
                                         std::to_string(config_.max_tokens) + ")");
  }
}

const uint8_t* CpuBackend::convert_activations(ActType act, const float* x, int64_t n_cols, int n_tokens,
                                               size_t& row_bytes, const float* up) {
  if (act == ActType::f32) {
    row_bytes = static_cast<size_t>(n_cols) * sizeof(float);
    return reinterpret_cast<const uint8_t*>(x);
  }
  row_bytes = activation_row_bytes(act, n_cols);
  if (row_bytes > max_activation_row_bytes_) throw Error(ErrorKind::internal, "matmul wider than planned");
  if (up != nullptr && n_cols > max_converted_cols_) throw Error(ErrorKind::internal, "SwiGLU row wider than planned");
  uint8_t* converted = activations_.get();
  for_rows(n_tokens, [&](int index, int64_t begin, int64_t end) {
    float* gated = scratch_[static_cast<size_t>(index)].gated.get();
    for (int64_t t = begin; t < end; ++t) {
      const float* row = x + t * n_cols;
      if (up != nullptr) {
        swiglu_row(row, up + t * n_cols, static_cast<int>(n_cols), gated);
        row = gated;
      }
      quantize_activation_row(act, row, n_cols, converted + static_cast<size_t>(t) * row_bytes);
    }
  });
  return converted;
}

void CpuBackend::matmul(const WeightView& w, const float* x, int n_tokens, float* out) {
  check_rows(n_tokens);
  size_t act_row_bytes = 0;
  const uint8_t* acts = convert_activations(activation_type_for(w.type), x, w.n_cols, n_tokens, act_row_bytes);
  multiply_converted(w, acts, act_row_bytes, n_tokens, out);
}

// The down projection reads each SwiGLU row once, converted: computing the row into the
// thread's scratch right before its conversion saves writing the floats out and reading them
// back. pp512, 2 threads, alternating in one process with swiglu then matmul: 0.5B shape
// faster in 38 of 56 rounds (medians of four sessions -1.7 to +4.5 %, about +2 %), 1.5B
// shape +4 % (8 of 8).
void CpuBackend::matmul_swiglu(const WeightView& w, float* gate, const float* up, int n_tokens, float* out) {
  const ActType act = activation_type_for(w.type);
  if (act == ActType::f32) return Backend::matmul_swiglu(w, gate, up, n_tokens, out);  // the floats are the input
  check_rows(n_tokens);
  size_t act_row_bytes = 0;
  const uint8_t* acts = convert_activations(act, gate, w.n_cols, n_tokens, act_row_bytes, up);
  multiply_converted(w, acts, act_row_bytes, n_tokens, out);
}

void CpuBackend::multiply_converted(const WeightView& w, const uint8_t* acts, size_t act_row_bytes, int n_tokens,
                                    float* out) {
  const int64_t n_cols = w.n_cols;
  const bool fault = config_.wrong_block_scale_type == w.type;
  if (!fault && !packed_.empty()) {
    const auto packed = packed_.find(w.bytes.data());
    if (packed != packed_.end()) {
      multiply_packed(packed->second, acts, act_row_bytes, n_tokens, out);
      return;
    }
  }
  const TileKernel tile = fault ? TileKernel{} : tile_kernel(w.type);
  if (tile.fn != nullptr) {
    multiply_tiles(tile, w, acts, act_row_bytes, n_tokens, out);
    return;
  }
  // F32 / F16 weights: llama.cpp multiplies them with its float kernels (GEMM for batches of
  // 2+ tokens), whose summation orders float_dot reproduces.
  const std::optional<FloatFormat> float_weights = float_format_of(w.type);
  const DotKernel float_kernel = float_dot_kernel(n_tokens, n_cols, w.n_rows, true);
  const WeightDotFn dot = dot_kernel(w.type);  // looked up once, not per row and token
  const int64_t fault_elems = ggml_type_traits(w.type).block_elems;
  auto multiply = [&](int index, int count) {
    int64_t begin = 0, end = 0;
    ThreadPool::split(w.n_rows, index, count, begin, end);
    for (int64_t r = begin; r < end; ++r) {
      const uint8_t* row = w.row(r);
      for (int t = 0; t < n_tokens; ++t) {
        const uint8_t* a = acts + static_cast<size_t>(t) * act_row_bytes;
        float sum = float_weights ? float_dot(*float_weights, row, a, n_cols, float_kernel) : dot(row, a, n_cols);
        if (fault) sum += 0.5f * dot(row, a, fault_elems);
        out[static_cast<size_t>(t) * w.n_rows + r] = sum;
      }
    }
  };
  pool_.run(multiply);
}

// Each thread takes a share of the rows (whole tiles; stealing_ranges.h: a thread done early
// takes the end of another's), and walks it in chunks of rows small enough to stay in the L1
// cache while every token tile passes over them; a token tile's activation rows are read
// once per chunk. (Fixed shares, AVX2 prompts of 512 tokens on a shared 2-core machine: the
// threads idled for 8 % of the tile matmul passes, 0.1-0.2 % now.)
void CpuBackend::multiply_tiles(const TileKernel& tile, const WeightView& w, const uint8_t* acts, size_t act_row_bytes,
                                int n_tokens, float* out) {
  const int64_t chunk_tiles = std::max<int64_t>(1, static_cast<int64_t>(kTileChunkBytes / w.row_bytes) / tile.max_rows);
  const int64_t n_tiles = (w.n_rows + tile.max_rows - 1) / tile.max_rows;
  stealing_.reset(&n_tiles, 1);
  auto multiply = [&](int index, int) {
    stealing_.run(index, chunk_tiles, 1, [&](int, int64_t tile_begin, int64_t tile_end) {
      const int64_t r0 = tile_begin * tile.max_rows;
      const int64_t r1 = std::min(tile_end * tile.max_rows, w.n_rows);
      for (int t0 = 0; t0 < n_tokens; t0 += tile.max_tokens) {
        const int n_tile_tokens = std::min(tile.max_tokens, n_tokens - t0);
        for (int64_t r = r0; r < r1; r += tile.max_rows) {
          const int n_tile_rows = static_cast<int>(std::min<int64_t>(tile.max_rows, r1 - r));
          const TileArgs args{w.row(r), w.row_bytes, acts + static_cast<size_t>(t0) * act_row_bytes, act_row_bytes,
                              w.n_cols, out + static_cast<size_t>(t0) * w.n_rows + r, static_cast<size_t>(w.n_rows)};
          tile.fn(args, n_tile_rows, n_tile_tokens);
        }
      }
    });
  };
  pool_.run(multiply);
}

void CpuBackend::get_rows(const WeightView& w, const int32_t* ids, int n_ids, float* out) {
  for (int i = 0; i < n_ids; ++i) dequantize_row(w.type, w.row(ids[i]), out + static_cast<size_t>(i) * w.n_cols, w.n_cols);
}

void CpuBackend::rms_norm(const float* x, const float* weight, int n_rows, int n, float eps, float* y) {
  check_rows(n_rows);
  for_rows(n_rows, [&](int, int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const size_t offset = static_cast<size_t>(r) * n;
      rms_norm_row(x + offset, weight, n, eps, y + offset);
    }
  });
}

void CpuBackend::add_bias(float* y, const float* bias, int n_rows, int n) {
  check_rows(n_rows);
  for_rows(n_rows, [&](int, int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* row = y + static_cast<size_t>(r) * n;
      for (int i = 0; i < n; ++i) row[i] += bias[i];
    }
  });
}

void CpuBackend::add(float* y, const float* x, int64_t n) {
  // In blocks of kAddBlock floats (a prompt's residual is tokens x n_embd).
  for_rows((n + kAddBlock - 1) / kAddBlock, [&](int, int64_t begin, int64_t end) {
    const int64_t last = std::min(end * kAddBlock, n);
    for (int64_t i = begin * kAddBlock; i < last; ++i) y[i] += x[i];
  });
}

void CpuBackend::rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
                      const RopeParams& params) {
  check_rows(n_tokens);
  if (params.n_rot > head_dim || head_dim > config_.max_head_dim || params.n_rot % 2 != 0) {
    throw Error(ErrorKind::internal, "RoPE dimensions out of range");
  }
  for_rows(n_tokens, [&](int thread, int64_t begin, int64_t end) {
    float* cache = scratch_[static_cast<size_t>(thread)].rope_cache.get();
    for (int64_t t = begin; t < end; ++t) {
      rope_cache(positions[t], params, cache);
      for (int h = 0; h < n_heads; ++h) rope_head(x + (t * n_heads + h) * head_dim, cache, params);
    }
  });
}

void CpuBackend::store_kv(const KvLayerView& kv, const float* k, const float* v, int n_tokens, int pos0) {
  check_rows(n_tokens);
  if (pos0 < 0 || n_tokens > kv.capacity - pos0) throw Error(ErrorKind::internal, "KV store past the cache");
  for_rows(n_tokens, [&](int, int64_t begin, int64_t end) { store_kv_rows(kv, k, v, begin, end, pos0); });
}

void CpuBackend::store_kv_rows(const KvLayerView& kv, const float* k, const float* v, int64_t t_begin, int64_t t_end,
                               int pos0) const {
  const size_t n_embd = static_cast<size_t>(kv.n_embd_kv);
  const size_t capacity = static_cast<size_t>(kv.capacity);
  for (int64_t t = t_begin; t < t_end; ++t) {
    const size_t pos = static_cast<size_t>(pos0 + t);
    const float* k_row = k + t * n_embd;
    const float* v_row = v + t * n_embd;
    switch (kv.type) {
      case KvType::f16: {
        f32_to_f16_row(k_row, kv.n_embd_kv, reinterpret_cast<uint16_t*>(kv.k) + pos * n_embd);
        uint16_t* v_base = reinterpret_cast<uint16_t*>(kv.v);
        for (size_t c = 0; c < n_embd; ++c) v_base[c * capacity + pos] = f32_to_f16(v_row[c]);
        break;
      }
      case KvType::f32: {
        std::copy(k_row, k_row + n_embd, reinterpret_cast<float*>(kv.k) + pos * n_embd);
        float* v_base = reinterpret_cast<float*>(kv.v);
        for (size_t c = 0; c < n_embd; ++c) v_base[c * capacity + pos] = v_row[c];
        break;
      }
    }
  }
}

// The query heads that share KV head `kv_head` against positions 0..pos, as llama.cpp
// computes each head without flash attention: K.Q with the query in the cache's type,
// ggml_soft_max_ext, then the probabilities in the cache's type times each transposed V
// channel, each product with the kernel llama.cpp's CPU build picks for this batch size
// (chosen for ggml's KV rows padded to 256). The V products stop at pos rounded up to a whole
// step of 64 (zero probabilities past pos): ggml's run on over the rest of its padded row,
// whose zero probabilities leave every partial sum of both kernels unchanged (steps of 64
// over four accumulators, or of 16 over one), so skipping them changes no result (cached V
// values are finite). The heads' K.Q and V products each take one pass over the cache
// (float_dot_rows_multi converts its rows from F16 once for the group); pp512 of the 0.5B
// shape spent 15.6 % of its time there with one pass per head, 9.3 % with one per group.
void CpuBackend::attend_group(const KvLayerView& kv, const float* q, int pos, int kv_head, int batch_tokens,
                              const AttentionShape& shape, ThreadScratch& scratch, float* out) const {
  const int n_visible = pos + 1;
  const int n_padded = static_cast<int>(round_up(n_visible, kKvCapacityAlignment));
  const int n_summed = static_cast<int>(round_up(n_visible, kVecDotStep));  // <= n_padded
  const int group = shape.n_head / shape.n_head_kv;
  const int head0 = kv_head * group;
  const size_t hd = static_cast<size_t>(shape.head_dim);
  const size_t kv_capacity = static_cast<size_t>(round_up(config_.max_kv, kKvCapacityAlignment));
  const size_t elem = kv_type_size(kv.type);
  const bool f16 = kv.type == KvType::f16;
  const FloatFormat format = float_format_of(kv.type);
  // llama.cpp's K.Q GEMM needs the query converted to F16 (an F32 query is a strided view,
  // which only ggml_vec_dot takes); its n_kv rows are a multiple of 256.
  const DotKernel kq_kernel = float_dot_kernel(batch_tokens, shape.head_dim, kKvCapacityAlignment, f16);
  const DotKernel kqv_kernel = float_dot_kernel(batch_tokens, n_padded, shape.head_dim, true);
  for (int k = 0; k < group; ++k) {
    const float* query = q + static_cast<size_t>(head0 + k) * hd;
    const uint8_t* bytes = reinterpret_cast<const uint8_t*>(query);
    if (f16) {
      uint16_t* q16 = scratch.q16.get() + static_cast<size_t>(k) * hd;
      f32_to_f16_row(query, shape.head_dim, q16);
      bytes = reinterpret_cast<const uint8_t*>(q16);
    }
    scratch.vectors[static_cast<size_t>(k)] = bytes;
    scratch.outputs[static_cast<size_t>(k)] = scratch.scores.get() + static_cast<size_t>(k) * kv_capacity;
  }
  const size_t k_stride = static_cast<size_t>(kv.n_embd_kv) * elem;
  const uint8_t* k_head = kv.k + kv_head * hd * elem;
  float_dot_rows_multi(format, k_head, k_stride, n_visible, scratch.vectors.data(), group, shape.head_dim, kq_kernel,
                       scratch.outputs.data(), scratch.dots.get());
  for (int k = 0; k < group; ++k) {
    float* scores = scratch.outputs[static_cast<size_t>(k)];
    softmax_row(scores, n_visible, shape.scale, scores);
    const uint8_t* probs = reinterpret_cast<const uint8_t*>(scores);
    if (f16) {
      uint16_t* p16 = scratch.probs16.get() + static_cast<size_t>(k) * kv_capacity;
      f32_to_f16_row(scores, n_visible, p16);
      std::fill(p16 + n_visible, p16 + n_summed, uint16_t{0});
      probs = reinterpret_cast<const uint8_t*>(p16);
    } else {
      std::fill(scores + n_visible, scores + n_summed, 0.0f);
    }
    scratch.vectors[static_cast<size_t>(k)] = probs;
    scratch.outputs[static_cast<size_t>(k)] = out + static_cast<size_t>(head0 + k) * hd;
  }
  const size_t v_stride = static_cast<size_t>(kv.capacity) * elem;
  const uint8_t* v_head = kv.v + kv_head * hd * v_stride;
  float_dot_rows_multi(format, v_head, v_stride, shape.head_dim, scratch.vectors.data(), group, n_summed, kqv_kernel,
                       scratch.outputs.data(), scratch.dots.get());
}

void CpuBackend::attention(const KvLayerView& kv, const float* q, int n_tokens, int pos0,
                           const AttentionShape& shape, float* out) {
  check_rows(n_tokens);
  if (shape.n_head_kv < 1 || shape.n_head % shape.n_head_kv != 0 || shape.n_head > config_.max_heads ||
      shape.head_dim > config_.max_head_dim || shape.n_head_kv * shape.head_dim != kv.n_embd_kv ||
      pos0 < 0 || pos0 + n_tokens > kv.capacity || kv.capacity > round_up(config_.max_kv, kKvCapacityAlignment)) {
    throw Error(ErrorKind::internal, "attention shape does not match the KV cache");
  }
  if (attend_token_blocks(kv, q, n_tokens, pos0, shape, out)) return;
  const int64_t row = static_cast<int64_t>(shape.n_head) * shape.head_dim;
  // (token, KV head) tasks: causal attention costs grow with the token's position.
  run_attention_tasks(static_cast<int64_t>(n_tokens) * shape.n_head_kv, [&](int64_t task, ThreadScratch& scratch) {
    const int64_t t = task / shape.n_head_kv;
    const int kv_head = static_cast<int>(task % shape.n_head_kv);
    attend_group(kv, q + t * row, pos0 + static_cast<int>(t), kv_head, n_tokens, shape, scratch, out + t * row);
  });
}

bool CpuBackend::attend_token_blocks(const KvLayerView& kv, const float* q, int n_tokens, int pos0,
                                     const AttentionShape& shape, float* out) {
  // Batches of 2+ tokens: llama.cpp's GEMM order for K.Q (head_dim % 16 == 0) and for the V
  // products (head_dim % 4 == 0, n_kv padded to 256), the order prompt_attention.h keeps.
  if (!prompt_blocks_ || kv.type != KvType::f16 || n_tokens < 2 || shape.head_dim % kGemmStep != 0 ||
      kv.capacity % kVecDotStep != 0) {
    return false;
  }
#if defined(__x86_64__) || defined(_M_X64)
  const size_t elem = kv_type_size(kv.type);
  const size_t hd = static_cast<size_t>(shape.head_dim);
  const int group = shape.n_head / shape.n_head_kv;
  const size_t row = static_cast<size_t>(shape.n_head) * hd;
  const int64_t n_blocks = (n_tokens + kPromptBlockTokens - 1) / kPromptBlockTokens;
  // (block, KV head) tasks: later blocks see more keys.
  run_attention_tasks(n_blocks * shape.n_head_kv, [&](int64_t task, ThreadScratch& scratch) {
    const int t0 = static_cast<int>(task / shape.n_head_kv) * kPromptBlockTokens;
    const int kv_head = static_cast<int>(task % shape.n_head_kv);
    const size_t head0 = static_cast<size_t>(kv_head * group) * hd;
    PromptAttentionArgs args;
    args.k = kv.k + kv_head * hd * elem;
    args.k_stride = static_cast<size_t>(kv.n_embd_kv) * elem;
    args.v_stride = static_cast<size_t>(kv.capacity) * elem;
    args.v = kv.v + kv_head * hd * args.v_stride;
    args.q = q + static_cast<size_t>(t0) * row + head0;
    args.q_stride = row;
    args.out = out + static_cast<size_t>(t0) * row + head0;
    args.out_stride = row;
    args.n_tokens = std::min(kPromptBlockTokens, n_tokens - t0);
    args.pos0 = pos0 + t0;
    args.n_heads = group;
    args.head_dim = shape.head_dim;
    args.scale = shape.scale;
    args.capacity = static_cast<size_t>(round_up(config_.max_kv, kKvCapacityAlignment));
    if (avx512::attend_token_block(args, scratch.prompt)) return;
    for (int t = t0; t < t0 + args.n_tokens; ++t) {
      attend_group(kv, q + t * row, pos0 + t, kv_head, n_tokens, shape, scratch, out + t * row);
    }
  });
  return true;
#else
  return false;
#endif
}

void CpuBackend::swiglu(const float* gate, const float* up, int n_rows, int n, float* out) {
  check_rows(n_rows);
  for_rows(n_rows, [&](int, int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const size_t offset = static_cast<size_t>(r) * n;
      swiglu_row(gate + offset, up + offset, n, out + offset);
    }
  });
}

}  // namespace alloy::cpu
