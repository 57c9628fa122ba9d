#include "generation.h"

#include <algorithm>
#include <cstddef>

namespace alloy {

namespace {

double ms_between(GenerationJob::Clock::time_point from, GenerationJob::Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

int64_t ticks(GenerationJob::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

GenerationJob::Clock::time_point deadline_for(GenerationJob::Clock::time_point submitted, double budget_ms) {
  if (budget_ms <= 0) return GenerationJob::Clock::time_point::max();
  return submitted + std::chrono::duration_cast<GenerationJob::Clock::duration>(std::chrono::duration<double, std::milli>(budget_ms));
}

}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::eog: return "eog";
    case StopReason::max_tokens: return "max_tokens";
    case StopReason::time_budget: return "time_budget";
    case StopReason::context_full: return "context_full";
    case StopReason::cancelled: return "cancelled";
    case StopReason::superseded: return "superseded";
    case StopReason::error: return "error";
  }
  return "error";
}

GenerationJob::GenerationJob(uint64_t id, GenerationRequest request, std::unique_ptr<GenerationSink> sink,
                             const Tokenizer& tokenizer, int n_vocab)
    : id_(id),
      request_(std::move(request)),
      sink_(std::move(sink)),
      tokenizer_(tokenizer),
      n_vocab_(n_vocab),
      detokenizer_(tokenizer, false, StreamingDetokenizer::Mode::continuation),
      submitted_(Clock::now()) {
  validate_sampler_params(request_.sampling);
  deadline_ = deadline_for(submitted_, request_.time_budget_ms);
  history_.reserve(request_.prompt.size() + static_cast<size_t>(std::max(request_.max_tokens, 0)));
  history_.assign(request_.prompt.begin(), request_.prompt.end());
  summary_.n_prompt = static_cast<int>(request_.prompt.size());
}

bool GenerationJob::cancel(StopReason why) {
  bool expected = false;
  if (!cancel_flag_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return false;
  cancel_reason_.store(static_cast<int>(why), std::memory_order_relaxed);
  cancel_at_ns_.store(ticks(Clock::now()), std::memory_order_relaxed);
  // Release so that a worker that sees the flag also sees the reason and the time.
  cancel_flag_.store(true, std::memory_order_release);
  return true;
}

void GenerationJob::supersede(const std::vector<int32_t>& next_prompt) {
  const size_t end = evaluating_end_.load(std::memory_order_acquire);
  const bool chunk_is_shared = end > 0 && end <= next_prompt.size() &&
                               std::equal(request_.prompt.begin(), request_.prompt.begin() + static_cast<std::ptrdiff_t>(end),
                                          next_prompt.begin());
  if (!chunk_is_shared) {
    cancel(StopReason::superseded);
    return;
  }
  bool expected = false;
  if (!stop_after_step_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return;
  if (cancel_flag_.load(std::memory_order_acquire)) return;  // an earlier cancel() decides the reason
  cancel_reason_.store(static_cast<int>(StopReason::superseded), std::memory_order_relaxed);
  cancel_at_ns_.store(ticks(Clock::now()), std::memory_order_relaxed);
  stop_after_step_.store(true, std::memory_order_release);
}

StopReason GenerationJob::interruption_reason() const {
  if (cancel_requested()) return static_cast<StopReason>(cancel_reason_.load(std::memory_order_relaxed));
  return StopReason::time_budget;
}

double GenerationJob::ms_since_submit() const { return ms_between(submitted_, Clock::now()); }

bool GenerationJob::is_stop_token(int32_t token) const {
  if (!request_.ignore_eos && tokenizer_.is_eog(token)) return true;
  return std::find(request_.stop_tokens.begin(), request_.stop_tokens.end(), token) != request_.stop_tokens.end();
}

bool GenerationJob::step(Slot& slot, StepEvaluator& forward, int prompt_chunk) {
  if (finished_) return true;
  if (phase_ == Phase::queued) {
    started_ = Clock::now();
    summary_.queue_ms = ms_between(submitted_, started_);
    summary_.n_reused = reuse_prefix(slot, request_.prompt);
    slot.sampler.reset(request_.sampling);
    next_prompt_ = static_cast<size_t>(summary_.n_reused);
    phase_ = Phase::prompt;
  }
  if (cancel_requested() || Clock::now() >= deadline_) {
    finish(interruption_reason());
    return true;
  }
  try {
    return phase_ == Phase::prompt ? step_prompt(slot, forward, prompt_chunk) : step_decode(slot, forward);
  } catch (const Interrupted&) {
    finish(interruption_reason());
    return true;
  }
}

bool GenerationJob::step_prompt(Slot& slot, StepEvaluator& forward, int prompt_chunk) {
  const size_t remaining = request_.prompt.size() - next_prompt_;
  const size_t count = static_cast<size_t>(next_step_size(static_cast<int>(remaining), std::max(prompt_chunk, 1)));
  const bool last = count == remaining;
  const int32_t* chunk = request_.prompt.data() + next_prompt_;
  // Only a cancel interrupts a prompt chunk: a chunk that finishes stays in the slot, so the
  // time budget is checked between chunks (they are small) rather than inside one.
  const FlagOrDeadline interrupter(cancel_flag_, Clock::time_point::max());
  evaluating_end_.store(next_prompt_ + count, std::memory_order_release);
  try {
    forward.eval(*slot.cache, chunk, static_cast<int>(count), false, last ? slot.logits.data() : nullptr, &interrupter);
  } catch (...) {
    evaluating_end_.store(0, std::memory_order_release);
    throw;
  }
  evaluating_end_.store(0, std::memory_order_release);
  slot.tokens.insert(slot.tokens.end(), chunk, chunk + count);
  next_prompt_ += count;
  summary_.n_evaluated += static_cast<int>(count);
  if (!last) return false;
  summary_.prompt_ms = ms_between(started_, Clock::now());
  phase_ = Phase::decode;
  if (request_.max_tokens == 0) {
    finish(StopReason::max_tokens);
    return true;
  }
  return false;
}

bool GenerationJob::step_decode(Slot& slot, StepEvaluator& forward) {
  const int32_t token = slot.sampler.sample(slot.logits.data(), n_vocab_, history_);
  if (is_stop_token(token)) {
    finish(StopReason::eog);
    return true;
  }
  history_.push_back(token);
  const int index = summary_.n_generated++;
  const double t_ms = ms_since_submit();
  if (index == 0) summary_.first_token_ms = t_ms;
  sink_->on_token(TokenOutput{token, detokenizer_.push(token), index, t_ms});
  if (summary_.n_generated >= request_.max_tokens) {
    finish(StopReason::max_tokens);
    return true;
  }
  if (slot.cache->n_filled() >= slot.cache->n_ctx()) {
    finish(StopReason::context_full);
    return true;
  }
  const FlagOrDeadline interrupter(cancel_flag_, deadline_);
  forward.eval(*slot.cache, &token, 1, false, slot.logits.data(), &interrupter);
  slot.tokens.push_back(token);
  return false;
}

void GenerationJob::finish(StopReason reason) {
  if (finished_) return;
  finished_ = true;
  const Clock::time_point now = Clock::now();
  summary_.reason = reason;
  summary_.total_ms = ms_between(submitted_, now);
  if (reason == StopReason::cancelled || reason == StopReason::superseded) {
    const int64_t at = cancel_at_ns_.load(std::memory_order_relaxed);
    summary_.cancel_latency_ms = at > 0 ? std::max(0.0, static_cast<double>(ticks(now) - at) / 1e6) : 0.0;
  }
  summary_.text = detokenizer_.finish();
  sink_->on_done(std::move(summary_));
}

void GenerationJob::fail(const Error& error) {
  summary_.error_kind = error.kind();
  summary_.error_message = error.what();
  finish(StopReason::error);
}

}  // namespace alloy
