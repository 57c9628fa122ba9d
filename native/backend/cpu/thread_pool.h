// A small persistent thread pool: n - 1 worker threads created once (per context), plus the
// calling thread as thread 0. run() hands the same job to every thread and returns when all
// have finished it; jobs split their work by thread index, so results never depend on
// timing. Nothing is allocated per run().
//
// Wake-up latency matters more than idle cost: a decode step issues a few hundred short
// jobs, so workers spin on an atomic generation counter (with the CPU's pause hint) for up
// to kSpinMicros after a job before they sleep on a condition variable, and the caller spins
// on the count of unfinished shares. A job issued while a worker sleeps wakes it through the
// condition variable (the seq_cst handshake in dispatch / wait_for_job: either the caller
// sees the sleeper or the sleeper sees the new generation).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace alloy::cpu {

class ThreadPool {
 public:
  // How long an idle worker polls for the next job before it sleeps (microseconds).
  static constexpr int kSpinMicros = 300;

  explicit ThreadPool(int n_threads);  // n_threads >= 1
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls job(thread_index, n_threads) on every thread, the caller included, and waits for
  // all of them. The first exception a job throws is rethrown here. Not reentrant.
  template <typename Job>
  void run(Job& job) {
    dispatch(&call_job<Job>, &job);
  }

  // The half-open share [begin, end) of n items that thread `index` of `count` takes.
  static void split(int64_t n, int index, int count, int64_t& begin, int64_t& end) {
    begin = n * index / count;
    end = n * (index + 1) / count;
  }

  // As split, with shares rounded to multiples of `grain` items (the last share takes the rest).
  static void split_aligned(int64_t n, int64_t grain, int index, int count, int64_t& begin, int64_t& end) {
    const int64_t units = (n + grain - 1) / grain;
    split(units, index, count, begin, end);
    begin = begin * grain < n ? begin * grain : n;
    end = end * grain < n ? end * grain : n;
  }

 private:
  using JobFn = void (*)(void* job, int index, int count);
  template <typename Job>
  static void call_job(void* job, int index, int count) {
    (*static_cast<Job*>(job))(index, count);
  }

  void dispatch(JobFn fn, void* job);
  void worker_loop(int index);
  void run_share(int index);
  // Returns the generation after `seen` once one is published, or 0 when stopping.
  uint64_t wait_for_job(uint64_t seen);

  int n_threads_;
  std::vector<std::thread> workers_;
  // The job of the current generation; written by the caller before it publishes generation_.
  JobFn fn_ = nullptr;
  void* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};   // worker shares of the current job not finished yet
  std::atomic<int> sleepers_{0};  // workers blocked (or about to block) on wake_cv_
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // guards the sleep / wake handshake and error_
  std::condition_variable wake_cv_;
  std::exception_ptr error_;
};

}  // namespace alloy::cpu
