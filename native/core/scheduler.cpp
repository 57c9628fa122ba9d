#include "scheduler.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "error.h"
#include "model_backend.h"

namespace alloy {

namespace {

constexpr size_t kMaxSlotName = 64;

SlotShape slot_shape(const Model& model, const SchedulerParams& params) {
  const HyperParams& hp = model.hparams();
  return SlotShape{hp.n_layer, params.n_ctx, hp.n_embd_kv(), params.kv_type, hp.n_vocab};
}

SchedulerParams checked(SchedulerParams params, const Model& model) {
  validate_eval_sizes(params.n_ctx, params.n_threads, params.n_batch);
  params.n_batch = std::min(params.n_batch, params.n_ctx);
  if (params.kv_budget_bytes == 0) {
    const SlotShape shape = slot_shape(model, params);
    params.kv_budget_bytes = KvCache::bytes_for(shape.n_layer, shape.n_ctx, shape.n_embd_kv, shape.kv_type) *
                             static_cast<size_t>(Scheduler::kDefaultSlots);
  }
  return params;
}

}  // namespace

Scheduler::Scheduler(const Model& model, const Tokenizer& tokenizer, SchedulerParams params)
    : model_(model), tokenizer_(tokenizer), params_(checked(params, model)), pool_(slot_shape(model, params_), params_.kv_budget_bytes) {
  EvaluatorConfig config;
  config.sizing.n_threads = params_.n_threads;
  config.sizing.max_tokens = params_.n_batch;
  config.sizing.max_kv = KvCache::capacity_for(params_.n_ctx);
  config.kv_type = params_.kv_type;
  config.preference = params_.backend;
  evaluator_ = create_evaluator(model, config, DebugFaults{});
  worker_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() { shutdown(); }

void Scheduler::validate(const GenerationRequest& r) const {
  if (r.slot.empty() || r.slot.size() > kMaxSlotName) {
    throw Error(ErrorKind::invalid_argument, "the slot name must be 1 to " + std::to_string(kMaxSlotName) + " characters");
  }
  if (r.prompt.empty()) throw Error(ErrorKind::invalid_argument, "the prompt needs at least one token");
  const int n_vocab = model_.hparams().n_vocab;
  const auto bad_id = [n_vocab](int32_t id) { return id < 0 || id >= n_vocab; };
  for (const std::vector<int32_t>* list : {&r.prompt, &r.stop_tokens}) {
    const auto it = std::find_if(list->begin(), list->end(), bad_id);
    if (it != list->end()) {
      throw Error(ErrorKind::invalid_argument, "token id " + std::to_string(*it) + " is outside the vocabulary (0.." +
                                                   std::to_string(n_vocab - 1) + ")");
    }
  }
  if (r.prompt.size() > static_cast<size_t>(params_.n_ctx)) {
    throw Error(ErrorKind::prompt_too_long, "the prompt has " + std::to_string(r.prompt.size()) +
                                                " tokens, more than the context of " + std::to_string(params_.n_ctx) +
                                                ": shorten it or load the model with a larger context");
  }
  if (r.max_tokens < 0) throw Error(ErrorKind::invalid_argument, "maxTokens must be >= 0");
  if (!std::isfinite(r.time_budget_ms) || r.time_budget_ms < 0) {
    throw Error(ErrorKind::invalid_argument, "timeBudgetMs must be a finite number >= 0");
  }
  validate_sampler_params(r.sampling);
}

uint64_t Scheduler::submit(GenerationRequest request, std::unique_ptr<GenerationSink> sink) {
  validate(request);
  const int n_vocab = model_.hparams().n_vocab;
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) throw Error(ErrorKind::invalid_argument, "the engine is shut down");
  const uint64_t id = next_id_++;
  auto job = std::make_unique<GenerationJob>(id, std::move(request), std::move(sink), tokenizer_, n_vocab);
  for (Entry& e : jobs_) {
    if (e.job->slot_name() == job->slot_name()) e.job->supersede(job->prompt());
  }
  jobs_.push_back(Entry{std::move(job), nullptr});
  wake_.notify_one();
  return id;
}

bool Scheduler::cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (Entry& e : jobs_) {
    if (e.job->id() == id) {
      const bool now = e.job->cancel(StopReason::cancelled);
      wake_.notify_one();
      return now;
    }
  }
  return false;
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SchedulerStats s;
  s.slots = pool_.snapshot();
  s.kv_budget_bytes = pool_.budget_bytes();
  s.kv_bytes_in_use = pool_.bytes_in_use();
  s.slots_evicted = pool_.evictions();
  for (const Entry& e : jobs_) (e.slot ? s.active_requests : s.queued_requests) += 1;
  return s;
}

void Scheduler::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
    for (Entry& e : jobs_) e.job->cancel(StopReason::cancelled);
    wake_.notify_one();
  }
  if (worker_.joinable()) worker_.join();
}

void Scheduler::remove(GenerationJob* job) {
  const auto it = std::find_if(jobs_.begin(), jobs_.end(), [job](const Entry& e) { return e.job.get() == job; });
  if (it == jobs_.end()) return;
  if (it->slot) {
    it->slot->n_published = static_cast<int>(it->slot->tokens.size());
    pool_.release(*it->slot);
  }
  const size_t index = static_cast<size_t>(it - jobs_.begin());
  jobs_.erase(it);
  if (cursor_ > index) --cursor_;
}

void Scheduler::retire_cancelled() {
  std::vector<GenerationJob*> cancelled;
  for (const Entry& e : jobs_) {
    if (e.job->cancel_requested()) cancelled.push_back(e.job.get());
  }
  for (GenerationJob* job : cancelled) {
    job->finish_interrupted();
    remove(job);
  }
}

bool Scheduler::step(GenerationJob& job, Slot& slot, int prompt_chunk) {
  try {
    return job.step(slot, *evaluator_.step, prompt_chunk);
  } catch (const Error& e) {
    job.fail(e);
  } catch (const std::bad_alloc&) {
    job.fail(Error(ErrorKind::out_of_memory, "out of memory during generation"));
  } catch (const std::exception& e) {
    job.fail(Error(ErrorKind::internal, e.what()));
  }
  return true;
}

void Scheduler::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    retire_cancelled();
    if (stopping_ && jobs_.empty()) return;
    if (jobs_.empty()) continue;
    if (cursor_ >= jobs_.size()) cursor_ = 0;
    Entry& entry = jobs_[cursor_];
    GenerationJob* job = entry.job.get();
    if (!entry.slot) {
      try {
        entry.slot = &pool_.acquire(job->slot_name());
      } catch (const Error& e) {
        job->fail(e);
        remove(job);
        continue;
      }
    }
    Slot* slot = entry.slot;
    const int chunk = std::min(params_.n_batch, jobs_.size() > 1 ? kSharedPromptChunk : kPromptChunk);
    lock.unlock();
    const bool done = step(*job, *slot, chunk);
    lock.lock();
    slot->n_published = static_cast<int>(slot->tokens.size());
    if (done) {
      remove(job);
    } else {
      ++cursor_;
    }
  }
}

}  // namespace alloy
