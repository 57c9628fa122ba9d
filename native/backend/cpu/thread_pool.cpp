#include "thread_pool.h"

#include <chrono>

#include "core/error.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define ALLOY_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define ALLOY_CPU_RELAX() asm volatile("yield" ::: "memory")
#else
#define ALLOY_CPU_RELAX() std::this_thread::yield()
#endif

namespace alloy::cpu {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kPollsBetweenClockReads = 64;

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads) {
  if (n_threads < 1) throw Error(ErrorKind::invalid_argument, "the thread count must be at least 1");
  workers_.reserve(static_cast<size_t>(n_threads - 1));
  try {
    for (int i = 1; i < n_threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
  } catch (...) {
    stopping_.store(true);
    {
      std::lock_guard<std::mutex> lock(mutex_);
    }
    wake_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    throw;
  }
}

ThreadPool::~ThreadPool() {
  stopping_.store(true);
  {
    std::lock_guard<std::mutex> lock(mutex_);
  }
  wake_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::run_share(int index) {
  try {
    fn_(job_, index, n_threads_);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::dispatch(JobFn fn, void* job) {
  if (workers_.empty()) {
    fn(job, 0, 1);
    return;
  }
  fn_ = fn;
  job_ = job;
  pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
  generation_.fetch_add(1);  // seq_cst: publishes fn_, job_ and pending_
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mutex_); }  // a sleeper is either waiting or sees the generation
    wake_cv_.notify_all();
  }
  run_share(0);
  // The other shares take about as long as ours: poll, then yield if a worker is descheduled.
  int polls = 0;
  while (pending_.load(std::memory_order_acquire) != 0) {
    if (++polls < (1 << 14)) {
      ALLOY_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
  std::exception_ptr error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

uint64_t ThreadPool::wait_for_job(uint64_t seen) {
  const Clock::time_point spin_until = Clock::now() + std::chrono::microseconds(kSpinMicros);
  for (int polls = 1;; ++polls) {
    if (stopping_.load(std::memory_order_relaxed)) return 0;
    const uint64_t g = generation_.load(std::memory_order_acquire);
    if (g != seen) return g;
    ALLOY_CPU_RELAX();
    if (polls % kPollsBetweenClockReads == 0 && Clock::now() >= spin_until) break;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  sleepers_.fetch_add(1);  // seq_cst, before the generation is read again below
  wake_cv_.wait(lock, [&] { return stopping_.load() || generation_.load() != seen; });
  sleepers_.fetch_sub(1);
  return stopping_.load() ? 0 : generation_.load(std::memory_order_acquire);
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    const uint64_t g = wait_for_job(seen);
    if (g == 0) return;
    seen = g;
    run_share(index);
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace alloy::cpu
