// Cooperative interruption of long evaluations. The forward pass asks an Interrupter between
// layers and throws Interrupted when it says stop; the batch being evaluated is then not
// committed to the KV cache, so the cache stays consistent with the tokens it records.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>

namespace alloy {

class Interrupted : public std::exception {
 public:
  const char* what() const noexcept override { return "evaluation interrupted"; }
};

class Interrupter {
 public:
  virtual ~Interrupter() = default;
  // Polled between layers (a few dozen times per token): must be cheap and thread-safe.
  virtual bool interrupted() const = 0;
};

// Stops when a flag is raised (from any thread) or a deadline passes.
class FlagOrDeadline final : public Interrupter {
 public:
  using Clock = std::chrono::steady_clock;
  FlagOrDeadline(const std::atomic<bool>& flag, Clock::time_point deadline) : flag_(flag), deadline_(deadline) {}
  bool interrupted() const override {
    return flag_.load(std::memory_order_relaxed) || Clock::now() >= deadline_;
  }

 private:
  const std::atomic<bool>& flag_;
  Clock::time_point deadline_;
};

}  // namespace alloy
