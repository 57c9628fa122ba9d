// One generation request as the engine's worker runs it: reuse the slot's cached prefix,
// evaluate the rest of the prompt in chunks, then sample, stream and evaluate one token at
// a time until a stop condition. step() does one unit of that work so the scheduler can
// interleave requests; cancel() may be called from any thread and takes effect at the next
// layer boundary.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "error.h"
#include "step_evaluator.h"
#include "sampler.h"
#include "slot_pool.h"
#include "tokenizer.h"

namespace alloy {

enum class StopReason { eog, max_tokens, time_budget, context_full, cancelled, superseded, error };
const char* stop_reason_name(StopReason reason);

struct GenerationRequest {
  std::string slot;              // KV sequence to run in
  std::vector<int32_t> prompt;   // the whole prompt (the slot's common prefix is reused)
  int max_tokens = 0;            // 0: evaluate the prompt only
  SamplerParams sampling;
  std::vector<int32_t> stop_tokens;  // end generation, like the model's end-of-generation tokens
  bool ignore_eos = false;           // do not stop at end-of-generation tokens
  double time_budget_ms = 0;         // > 0: stop with time_budget this long after submission
};

struct TokenOutput {
  int32_t token = 0;
  std::string text;  // complete UTF-8 only
  int index = 0;     // among generated tokens
  double t_ms = 0;   // since submission
};

struct GenerationSummary {
  StopReason reason = StopReason::error;
  ErrorKind error_kind = ErrorKind::internal;  // meaningful when reason == error
  std::string error_message;
  std::string text;  // held-back text flushed at the end
  int n_prompt = 0;
  int n_reused = 0;
  int n_evaluated = 0;
  int n_generated = 0;
  double queue_ms = 0;
  double prompt_ms = 0;
  double first_token_ms = 0;
  double total_ms = 0;
  double cancel_latency_ms = 0;  // cancel() to stop, for cancelled / superseded
};

// Receives a job's output on the worker thread: tokens in order, then on_done exactly once.
class GenerationSink {
 public:
  virtual ~GenerationSink() = default;
  virtual void on_token(TokenOutput token) = 0;
  virtual void on_done(GenerationSummary summary) = 0;
};

class GenerationJob {
 public:
  using Clock = std::chrono::steady_clock;

  // The request must already be validated (ids in the vocabulary, prompt fits the slot);
  // Error(invalid_argument) for bad sampling parameters. The tokenizer must outlive the job.
  // The logits and sampler buffers are the slot's (Slot::logits, Slot::sampler).
  GenerationJob(uint64_t id, GenerationRequest request, std::unique_ptr<GenerationSink> sink, const Tokenizer& tokenizer,
                int n_vocab);

  uint64_t id() const { return id_; }
  const std::string& slot_name() const { return request_.slot; }
  const std::vector<int32_t>& prompt() const { return request_.prompt; }
  bool finished() const { return finished_; }

  // Any thread. `why` is cancelled or superseded; the first call wins. Returns false when a
  // cancel was already requested. Interrupts the evaluation in flight at its next layer.
  bool cancel(StopReason why);
  // Any thread: a newer request on the slot replaces this one. When the prompt chunk being
  // evaluated is also a prefix of `next_prompt`, the chunk is allowed to finish (it stays in
  // the slot for the next request to reuse) and the job ends after it; otherwise as cancel().
  void supersede(const std::vector<int32_t>& next_prompt);
  bool cancel_requested() const {
    return cancel_flag_.load(std::memory_order_acquire) || stop_after_step_.load(std::memory_order_acquire);
  }

  // Worker thread: one unit of work on `slot` (one prompt chunk of at most prompt_chunk
  // tokens, or one generated token). Sends on_done and returns true when the job finished.
  bool step(Slot& slot, StepEvaluator& forward, int prompt_chunk);
  // Worker thread: ends the job now (never started, failed, or the engine is stopping).
  void finish(StopReason reason);
  // Worker thread: ends a job whose cancel() was called, with the reason given there.
  void finish_interrupted() { finish(interruption_reason()); }
  void fail(const Error& error);

 private:
  enum class Phase { queued, prompt, decode };

  bool step_prompt(Slot& slot, StepEvaluator& forward, int prompt_chunk);
  bool step_decode(Slot& slot, StepEvaluator& forward);
  bool is_stop_token(int32_t token) const;
  StopReason interruption_reason() const;
  double ms_since_submit() const;

  uint64_t id_;
  GenerationRequest request_;
  std::unique_ptr<GenerationSink> sink_;
  const Tokenizer& tokenizer_;
  int n_vocab_;
  StreamingDetokenizer detokenizer_;
  std::vector<int32_t> history_;  // prompt + generated, for the repetition penalty
  Phase phase_ = Phase::queued;
  size_t next_prompt_ = 0;  // first prompt index not yet in the slot
  bool finished_ = false;
  GenerationSummary summary_;

  Clock::time_point submitted_;
  Clock::time_point started_;
  Clock::time_point deadline_;
  std::atomic<bool> cancel_flag_{false};      // interrupts the evaluation in flight
  std::atomic<bool> stop_after_step_{false};  // ends the job once the current step is done
  std::atomic<size_t> evaluating_end_{0};     // prompt index after the chunk in flight; 0: none
  std::atomic<int> cancel_reason_{static_cast<int>(StopReason::cancelled)};
  std::atomic<int64_t> cancel_at_ns_{0};  // Clock ticks of the cancel call (nanoseconds)
};

}  // namespace alloy
