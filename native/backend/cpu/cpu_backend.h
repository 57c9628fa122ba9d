// The CPU backend: the operations of backend.h on the host, with llama.cpp's CPU numerics
// (activations converted per weight type by quant.h, ggml-exact row kernels from
// cpu_kernels.h) and rows split across a persistent thread pool. Every scratch buffer is
// allocated at construction, sized for the largest call the context will make.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/packed_matmul.h"
#include "backend/cpu/prompt_attention.h"
#include "backend/cpu/quant.h"
#include "backend/cpu/repack.h"
#include "backend/cpu/stealing_ranges.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/tile_kernels.h"

namespace alloy::cpu {

struct CpuBackendConfig {
  int n_threads = 1;
  int max_tokens = 1;    // the most token rows one call passes (the context's batch size)
  int max_kv = 0;        // the KV cache capacity (KvLayerView::capacity)
  int max_heads = 0;     // the most attention heads of one token (n_head)
  int max_head_dim = 0;
  // Test-only fault injection: in matmuls with weights of this type, the first block of
  // every row counts 1.5 times (as if its scale were read 1.5x too large).
  std::optional<GgmlType> wrong_block_scale_type;
};

class CpuBackend final : public Backend {
 public:
  // `weights` are every matrix the graph will multiply (their types and widths size the
  // activation buffer). Throws Error(unsupported_tensor_type) for a type without a kernel.
  CpuBackend(const CpuBackendConfig& config, const std::vector<const WeightView*>& weights);

  void matmul(const WeightView& w, const float* x, int n_tokens, float* out) override;
  void matmul_shared_input(const MatmulTarget* targets, int n_targets, const float* x, int n_tokens) override;
  void get_rows(const WeightView& w, const int32_t* ids, int n_ids, float* out) override;
  void rms_norm(const float* x, const float* weight, int n_rows, int n, float eps, float* y) override;
  void add_bias(float* y, const float* bias, int n_rows, int n) override;
  void add(float* y, const float* x, int64_t n) override;
  void rope(float* x, int n_tokens, int n_heads, int head_dim, const int32_t* positions,
            const RopeParams& params) override;
  void store_kv(const KvLayerView& kv, const float* k, const float* v, int n_tokens, int pos0) override;
  void attention(const KvLayerView& kv, const float* q, int n_tokens, int pos0, const AttentionShape& shape,
                 float* out) override;
  void swiglu(const float* gate, const float* up, int n_rows, int n, float* out) override;
  void matmul_swiglu(const WeightView& w, float* gate, const float* up, int n_tokens, float* out) override;
  void finish() override {}

  // The mapped bytes of the weights this backend repacked (it never reads them again).
  const std::vector<ByteSpan>& packed_sources() const { return packed_sources_; }

 private:
  // Per-thread scratch of the attention and RoPE kernels and of the AMX matmul.
  // The attention buffers hold one row per query head of a KV head's group.
  struct ThreadScratch {
    std::unique_ptr<float[]> scores;      // max_heads x max_kv (+ padding): K.Q, then probabilities
    std::unique_ptr<uint16_t[]> probs16;  // max_heads x max_kv: probabilities as F16
    std::unique_ptr<uint16_t[]> q16;      // max_heads x max_head_dim: the queries as F16
    std::unique_ptr<float[]> rope_cache;  // max_head_dim
    std::unique_ptr<float[]> dots;        // kMultiScratchFloats (float_dot_rows_multi)
    std::unique_ptr<uint8_t[]> amx_operands;  // amx::operand_scratch_bytes of the widest AMX matrix
    std::unique_ptr<float[]> prompt_floats;   // prompt_attention.h's scratch, when it runs
    std::unique_ptr<float[]> gated;           // one SwiGLU row of the widest converted input
    PromptAttentionScratch prompt;
    std::vector<const uint8_t*> vectors;  // max_heads: the queries, then the probabilities
    std::vector<float*> outputs;          // max_heads: the score rows, then the head outputs
  };

  void check_rows(int n_tokens) const;
  // Tokens [t_begin, t_end) of store_kv.
  void store_kv_rows(const KvLayerView& kv, const float* k, const float* v, int64_t t_begin, int64_t t_end, int pos0) const;
  // Runs body(thread, begin, end) over thread's share of [0, n) on every pool thread, or
  // body(0, 0, n) on the calling thread when n < kParallelRows (a few rows take less time
  // than waking the pool).
  template <typename Body>
  void for_rows(int64_t n, Body&& body) {
    if (n < kParallelRows) {
      body(0, int64_t{0}, n);
      return;
    }
    auto job = [&](int index, int count) {
      int64_t begin = 0, end = 0;
      ThreadPool::split(n, index, count, begin, end);
      body(index, begin, end);
    };
    pool_.run(job);
  }
  // n_tokens rows of x converted to `act` (into activations_; x itself for F32), row_bytes apart.
  // With `up`, the rows of silu(x) * up instead (swiglu_row into the thread's `gated` row,
  // converted while in cache; act is not F32 then).
  const uint8_t* convert_activations(ActType act, const float* x, int64_t n_cols, int n_tokens, size_t& row_bytes,
                                     const float* up = nullptr);
  // The rest of matmul: the product of w with its converted input rows.
  void multiply_converted(const WeightView& w, const uint8_t* acts, size_t act_row_bytes, int n_tokens, float* out);
  // cpu_backend_packed.cpp: matmuls over repacked weights.
  // odd_groups: some product of this input has an odd number of groups (with AMX, the VNNI
  // kernel computes the last one and needs the block sums).
  PackedMatmulArgs prepare_packed(const PackedMatrix& m, const uint8_t* acts, size_t act_row_bytes, int n_tokens,
                                  float* out, bool odd_groups);
  // The products args[i] (n_groups[i] groups of 16 rows each, i < n) in one pool pass.
  void run_packed(const PackedMatmulArgs* args, const int64_t* n_groups, int n, int n_tokens);
  void multiply_packed(const PackedMatrix& m, const uint8_t* acts, size_t act_row_bytes, int n_tokens, float* out);
  void multiply_tiles(const TileKernel& tile, const WeightView& w, const uint8_t* acts, size_t act_row_bytes,
                      int n_tokens, float* out);
  void attend_group(const KvLayerView& kv, const float* q, int pos, int kv_head, int batch_tokens,
                    const AttentionShape& shape, ThreadScratch& scratch, float* out) const;
  // attention() for batches prompt_attention.h computes 16 tokens at a time; false when it can't.
  bool attend_token_blocks(const KvLayerView& kv, const float* q, int n_tokens, int pos0, const AttentionShape& shape,
                           float* out);

  // Runs task(index, thread's scratch) for task indices 0 .. n_tasks - 1 in one pool pass,
  // claimed one at a time from the highest (the latest tokens, which see the most keys, go
  // first; the short ones even out the end), so a thread slowed by other work on the machine
  // takes fewer (0.5B-shape prompts of 512 tokens, 2 threads: the threads idle for 9 % of the
  // attention passes when each took every count-th task, 0.2-0.3 % now). Which thread
  // computes a task never changes its result.
  template <typename Task>
  void run_attention_tasks(int64_t n_tasks, Task&& task) {
    next_attention_task_.store(0, std::memory_order_relaxed);  // published by the pool's dispatch
    auto job = [&](int index, int) {
      ThreadScratch& scratch = scratch_[static_cast<size_t>(index)];
      for (;;) {
        const int64_t claimed = n_tasks - 1 - next_attention_task_.fetch_add(1, std::memory_order_relaxed);
        if (claimed < 0) return;
        task(claimed, scratch);
      }
    };
    pool_.run(job);
  }

  // Below this many rows (tokens), row-wise operations run on the calling thread alone.
  static constexpr int kParallelRows = 4;
  // add() splits its floats into blocks of this many (one "row" of for_rows).
  static constexpr int64_t kAddBlock = 4096;
  // Q8_0 / Q4_0 matmuls of at least this many tokens use the AMX kernel. Below it the VNNI
  // kernel was faster (0.5B-shape Q8_0 forward, 2 threads: 16 tokens 47-50 ms against 50-86
  // with AMX, 24 tokens 54-67 against 70-77); from 32 on AMX was (32, 64, 128 tokens: VNNI
  // 78-91, 116-121, 214-232 ms; AMX 69-82, 103-114, 174-231).
  static constexpr int kAmxMinTokens = 32;
  // The most products one matmul_shared_input call runs in one pass (Q, K, V).
  static constexpr int kMaxSharedInputs = StealingRanges::kMaxProducts;
  // The weight bytes (times tokens) of the chunks packed matmuls claim at a time.
  static constexpr int64_t kStealChunkBytes = 32768;

  CpuBackendConfig config_;
  ThreadPool pool_;
  StealingRanges stealing_;  // the shares of the current packed pass
  std::atomic<int64_t> next_attention_task_{0};  // run_attention_tasks
  size_t max_activation_row_bytes_ = 0;
  int64_t max_converted_cols_ = 0;          // the widest input converted to a non-F32 type
  std::unique_ptr<uint8_t[]> activations_;  // max_tokens rows of converted activations
  std::vector<ThreadScratch> scratch_;      // one per thread
  bool prompt_blocks_ = false;              // AVX-512 prompt attention (prompt_attention.h)
  // Weights repacked for the AVX-512 VNNI matmul, by the address of their mapped bytes.
  std::unordered_map<const uint8_t*, PackedMatrix> packed_;
  std::vector<ByteSpan> packed_sources_;  // the mapped bytes of each packed matrix
  std::unique_ptr<int32_t[]> block_sums_;  // max_tokens rows of activation block sums
  std::unique_ptr<float[]> act_scales_;     // the same for the activation block scales (AMX only)
  std::unique_ptr<uint8_t[]> act_tiles_;    // activation quants in AMX tile order (AMX only)
  bool amx_ = false;                        // Q8_0 prompt matmuls with AMX tiles
  int64_t max_packed_sums_ = 0;  // the most activation sums one row of a packed matmul takes
};

}  // namespace alloy::cpu
