// The engine's public evaluation API: one sequence over a loaded model, with its KV cache,
// its backend (the CPU thread pool, or Metal: backend_selection.h) and every buffer allocated
// when it is created. eval() appends tokens after those already evaluated and returns logits;
// keep_prefix() rewinds, so a new prompt that shares a prefix with the old one only evaluates
// the difference.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "backend/backend.h"
#include "backend_selection.h"
#include "forward.h"
#include "kv_cache.h"
#include "model.h"

namespace alloy {

struct ContextParams {
  int n_ctx = 2048;     // positions the KV cache holds
  int n_threads = 1;
  KvType kv_type = KvType::f16;
  int n_batch = 512;    // tokens evaluated together (prompt processing); capped at n_ctx
  DebugFaults faults;   // test-only fault injection; all off by default (they force the CPU)
  BackendPreference backend = BackendPreference::automatic;
};

class Context {
 public:
  // The model must outlive the context. Throws Error(invalid_argument) for bad parameters,
  // Error(out_of_memory) when the KV cache cannot be allocated.
  Context(const Model& model, ContextParams params);
  // Test-only: with the Metal executor `metal_factory` makes instead of this build's (the
  // emulator's, on Linux).
  Context(const Model& model, ContextParams params, MetalExecutorFactory metal_factory);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Evaluates `tokens` after the n_past() already evaluated and returns the logits of the
  // last one (n_vocab floats), or of every new token (n_tokens x n_vocab, row-major) when
  // all_logits. The reference stays valid until the next eval. Throws
  // Error(invalid_argument) for an empty list, an id outside the vocabulary, or tokens that
  // would go past n_ctx ("prompt past context"); the context is unchanged then.
  const std::vector<float>& eval(const std::vector<int32_t>& tokens, bool all_logits);

  int n_past() const { return cache_->n_filled(); }
  int n_ctx() const { return cache_->n_ctx(); }
  int n_vocab() const { return model_.hparams().n_vocab; }
  // Drops cached positions >= n (n >= n_past() keeps everything); Error(invalid_argument)
  // for n < 0.
  void keep_prefix(int n);

  const ContextParams& params() const { return params_; }
  size_t kv_bytes() const { return cache_->bytes(); }
  const BackendReport& backend_report() const { return evaluator_.report; }

 private:
  const Model& model_;
  ContextParams params_;
  std::unique_ptr<KvCache> cache_;
  Evaluator evaluator_;
  std::vector<float> logits_;
};

}  // namespace alloy
