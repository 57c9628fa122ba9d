// The engine's worker: one thread that runs every generation request over one model, one
// backend and a pool of KV slots. Requests on different slots are interleaved step by step
// (round robin: one prompt chunk or one token each), so chat and completion share the
// engine fairly; a new request on a slot supersedes (cancels) the one running there.
// submit(), cancel() and stats() are thread-safe; job output goes to each job's sink on the
// worker thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "backend_selection.h"
#include "generation.h"
#include "model.h"
#include "slot_pool.h"
#include "tokenizer.h"

namespace alloy {

struct SchedulerParams {
  int n_ctx = 2048;      // positions of each slot
  int n_threads = 1;
  int n_batch = 512;     // the most tokens evaluated at once (capped at n_ctx)
  KvType kv_type = KvType::f16;
  size_t kv_budget_bytes = 0;  // 0: room for kDefaultSlots slots
  BackendPreference backend = BackendPreference::automatic;
};

struct SchedulerStats {
  std::vector<SlotInfo> slots;
  size_t kv_budget_bytes = 0;
  size_t kv_bytes_in_use = 0;
  uint64_t slots_evicted = 0;
  int active_requests = 0;
  int queued_requests = 0;
};

class Scheduler {
 public:
  // Slots the default KV budget holds: completion, chat and speculative work.
  static constexpr int kDefaultSlots = 3;
  // Prompt tokens per step. Each step's tokens stay in the slot even when the request is
  // then superseded, so the next request on the slot (the next keystroke) reuses them; small
  // steps keep the time budget (checked between steps) and other requests' turns close.
  // DEBT: a fixed size; with batched matrix-matrix kernels (CPU speed issue) it should follow
  // a time target per step instead.
  static constexpr int kPromptChunk = 32;
  // Prompt tokens per step while other requests wait.
  static constexpr int kSharedPromptChunk = 32;

  // The model and tokenizer must outlive the scheduler. Throws Error(invalid_argument) for
  // bad parameters, Error(out_of_memory) when no slot fits the KV budget.
  Scheduler(const Model& model, const Tokenizer& tokenizer, SchedulerParams params);
  ~Scheduler();  // shutdown()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Validates and queues a request; returns its id. Any request on the same slot is
  // superseded. Throws Error(invalid_argument) for a bad request (empty prompt, an id
  // outside the vocabulary, bad sampling parameters, bad slot name), Error(prompt_too_long)
  // when the prompt does not fit a slot, Error(invalid_argument) after shutdown().
  uint64_t submit(GenerationRequest request, std::unique_ptr<GenerationSink> sink);
  // Cancels a queued or running request; false when it is unknown or already finished.
  bool cancel(uint64_t id);
  SchedulerStats stats() const;
  // Cancels every request (their sinks get on_done), stops and joins the worker. Idempotent.
  void shutdown();

  const SchedulerParams& params() const { return params_; }
  // Which backend runs the requests, and why Metal is not used when it is not.
  const BackendReport& backend_report() const { return evaluator_.report; }

 private:
  void run();
  void validate(const GenerationRequest& request) const;
  struct Entry {
    std::unique_ptr<GenerationJob> job;
    Slot* slot = nullptr;  // acquired at the job's first step
  };
  // Worker, under the lock: ends jobs whose cancel was requested before they run again.
  void retire_cancelled();
  void remove(GenerationJob* job);
  // Worker: one step of `job` (the lock released); true when the job finished.
  bool step(GenerationJob& job, Slot& slot, int prompt_chunk);

  const Model& model_;
  const Tokenizer& tokenizer_;
  SchedulerParams params_;
  Evaluator evaluator_;

  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable wake_;
  SlotPool pool_;
  std::deque<Entry> jobs_;  // queued and running, in arrival order; only the worker removes
  size_t cursor_ = 0;       // round-robin position in jobs_
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace alloy
