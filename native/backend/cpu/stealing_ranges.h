// Shares of a pool pass that an idle thread can help finish. Each thread owns a contiguous
// range of every product's work units and takes it from the front, a chunk at a time, so its
// weights stream in order; a thread done with its own ranges takes chunks from the back of
// the others'. Which thread computes a unit never changes its result (every unit is computed
// whole by one thread with the same code), so results still do not depend on timing.
//
// A claim takes a chunk, or half of what is left of the range when that is less (never less
// than `smallest` units, the decode kernel's streams): the last claims of a range shrink, so
// the thread that finishes first finds work to take until shortly before the others finish,
// instead of waiting for a whole chunk another thread claimed last (measured, 0.5B-shape
// Q8_0, 512-token prompts, 2 threads, AMX chunks of about 1 MiB of weights then: the threads'
// idle time in packed matmul passes fell from 2.4-3.2 % to 0.7-1.0 % of their time).
//
// Invariant: a range packs [front, back) of one (thread, product) into one 64-bit atomic
// (front in the low 32 bits); every claim is a compare-and-swap that moves front up or back
// down by at most a chunk and never past the other end, so each unit is claimed exactly once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "core/error.h"

namespace alloy::cpu {

class StealingRanges {
 public:
  static constexpr int kMaxProducts = 4;

  explicit StealingRanges(int n_threads)
      : n_threads_(n_threads), owners_(std::make_unique<Owner[]>(static_cast<size_t>(n_threads))) {}

  // Before the pass (on the calling thread, published by the pool's dispatch): thread i owns
  // units [begin, end) of product p as ThreadPool::split of n_units[p] gives them.
  void reset(const int64_t* n_units, int n_products) {
    if (n_products < 1 || n_products > kMaxProducts) throw Error(ErrorKind::internal, "too many products in one pass");
    n_products_ = n_products;
    for (int t = 0; t < n_threads_; ++t) {
      for (int p = 0; p < n_products; ++p) {
        if (n_units[p] >= (int64_t{1} << 31)) throw Error(ErrorKind::internal, "too many work units in one product");
        const uint64_t begin = static_cast<uint64_t>(n_units[p] * t / n_threads_);
        const uint64_t end = static_cast<uint64_t>(n_units[p] * (t + 1) / n_threads_);
        owners_[t].range[p].store(begin | (end << 32), std::memory_order_relaxed);
      }
    }
  }

  // Runs work(product, begin, end) over every unit thread `index` claims, at most `chunk` at a
  // time (fewer, down to `smallest`, near the end of a range): its own ranges first, product
  // by product, then chunks stolen from the other threads.
  template <typename Work>
  void run(int index, int64_t chunk, int64_t smallest, Work&& work) {
    if (smallest < 1 || chunk < smallest) {  // else no claim advances, or one exceeds a chunk
      throw Error(ErrorKind::internal, "work chunks must hold at least one unit, and at least the smallest claim");
    }
    for (int p = 0; p < n_products_; ++p) {
      int64_t begin = 0, end = 0;
      while (claim(owners_[index].range[p], chunk, smallest, true, begin, end)) work(p, begin, end);
    }
    for (int step = 1; step < n_threads_; ++step) {
      Owner& victim = owners_[(index + step) % n_threads_];
      for (int p = n_products_ - 1; p >= 0; --p) {
        int64_t begin = 0, end = 0;
        while (claim(victim.range[p], chunk, smallest, false, begin, end)) work(p, begin, end);
      }
    }
  }

 private:
  struct alignas(64) Owner {
    std::atomic<uint64_t> range[kMaxProducts];
  };

  static bool claim(std::atomic<uint64_t>& range, int64_t chunk, int64_t smallest, bool from_front, int64_t& begin,
                    int64_t& end) {
    uint64_t seen = range.load(std::memory_order_relaxed);
    for (;;) {
      const int64_t front = static_cast<int64_t>(seen & 0xffffffffu);
      const int64_t back = static_cast<int64_t>(seen >> 32);
      if (front >= back) return false;
      const int64_t left = back - front;
      const int64_t half = (left + 1) / 2 < smallest ? smallest : (left + 1) / 2;
      const int64_t wanted = half < chunk ? half : chunk;
      const int64_t take = wanted < left ? wanted : left;
      begin = from_front ? front : back - take;
      end = begin + take;
      const uint64_t next = from_front ? static_cast<uint64_t>(end) | (seen & ~uint64_t{0xffffffffu})
                                       : (seen & 0xffffffffu) | (static_cast<uint64_t>(begin) << 32);
      if (range.compare_exchange_weak(seen, next, std::memory_order_relaxed)) return true;
    }
  }

  int n_threads_;
  int n_products_ = 0;
  std::unique_ptr<Owner[]> owners_;
};

}  // namespace alloy::cpu
