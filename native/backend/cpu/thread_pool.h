// A small persistent thread pool: n - 1 worker threads created once (per context), plus the
// calling thread as thread 0. run() hands the same job to every thread and returns when all
// have finished it; jobs split their work by thread index, so results never depend on
// timing. Nothing is allocated per run().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace alloy::cpu {

class ThreadPool {
 public:
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

 private:
  using JobFn = void (*)(void* job, int index, int count);
  template <typename Job>
  static void call_job(void* job, int index, int count) {
    (*static_cast<Job*>(job))(index, count);
  }

  void dispatch(JobFn fn, void* job);
  void worker_loop(int index);
  void run_share(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;  // guarded by mutex_; bumped once per dispatch
  bool stopping_ = false;    // guarded by mutex_
  int pending_ = 0;          // guarded by mutex_: workers still running the current job
  JobFn fn_ = nullptr;
  void* job_ = nullptr;
  std::exception_ptr error_;  // guarded by mutex_
};

}  // namespace alloy::cpu
