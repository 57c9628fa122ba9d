// StealingRanges (backend/cpu/stealing_ranges.h): every unit of every product is handed out
// exactly once, whatever the thread count, chunk size and timing, and a thread that finishes
// its own shares takes the unfinished end of another's.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "backend/cpu/stealing_ranges.h"
#include "backend/cpu/thread_pool.h"
#include "check.h"
#include "core/error.h"

using namespace alloy::cpu;

TEST_CASE("every unit is claimed exactly once, for 1..4 threads, several chunk sizes and product shapes") {
  const std::vector<std::vector<int64_t>> shapes = {{1}, {7}, {56, 8, 8}, {0, 5}, {300, 301, 1, 64}};
  int wrong = 0;
  for (int n_threads = 1; n_threads <= 4; ++n_threads) {
    ThreadPool pool(n_threads);
    StealingRanges ranges(n_threads);
    for (const std::vector<int64_t>& units : shapes) {
      for (int64_t chunk : {1, 3, 8, 1000}) {
        for (int repeat = 0; repeat < 20; ++repeat) {
          const int64_t smallest = repeat % 2 == 0 ? 1 : chunk;
          const int n = static_cast<int>(units.size());
          std::vector<std::unique_ptr<std::atomic<int>[]>> claims;
          for (int64_t count : units) claims.push_back(std::make_unique<std::atomic<int>[]>(static_cast<size_t>(count) + 1));
          ranges.reset(units.data(), n);
          auto job = [&](int index, int) {
            ranges.run(index, chunk, smallest, [&](int p, int64_t begin, int64_t end) {
              if (begin < 0 || end > units[static_cast<size_t>(p)] || end - begin > chunk || begin >= end) {
                claims[static_cast<size_t>(p)][static_cast<size_t>(units[static_cast<size_t>(p)])].fetch_add(1);
                return;
              }
              for (int64_t u = begin; u < end; ++u) claims[static_cast<size_t>(p)][static_cast<size_t>(u)].fetch_add(1);
            });
          };
          pool.run(job);
          for (int p = 0; p < n; ++p) {
            for (int64_t u = 0; u < units[static_cast<size_t>(p)]; ++u) wrong += claims[static_cast<size_t>(p)][static_cast<size_t>(u)].load() != 1;
            wrong += claims[static_cast<size_t>(p)][static_cast<size_t>(units[static_cast<size_t>(p)])].load() != 0;  // bad ranges
          }
        }
      }
    }
  }
  CHECK_EQ(wrong, 0);
}

TEST_CASE("a thread done with its own shares takes chunks from the end of a slower thread's") {
  ThreadPool pool(2);
  StealingRanges ranges(2);
  const int64_t units[] = {40};  // thread 0 owns 0..19, thread 1 owns 20..39
  ranges.reset(units, 1);
  std::atomic<bool> first_claimed{false}, stolen{false};
  std::vector<int> claimed_by(40, -1);
  std::atomic<bool> timed_out{false};
  // Waits for `flag` (no timing assumption: only a broken claim order keeps it waiting, until
  // the deadline).
  auto wait_for = [&](const std::atomic<bool>& flag) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!flag.load()) {
      if (std::chrono::steady_clock::now() > deadline) {
        timed_out = true;
        return;
      }
      std::this_thread::yield();
    }
  };
  auto job = [&](int index, int) {
    // Thread 1 starts once thread 0 holds its first chunk (a thread 0 scheduled late would
    // otherwise see all of its share stolen: seen under qemu).
    if (index == 1) wait_for(first_claimed);
    ranges.run(index, 2, 1, [&](int, int64_t begin, int64_t end) {
      for (int64_t u = begin; u < end; ++u) claimed_by[static_cast<size_t>(u)] = index;
      if (index == 1 && begin < 20) stolen.store(true);
      if (index != 0 || begin != 0) return;
      // Thread 0 holds its first chunk until thread 1 has taken one of its units.
      first_claimed.store(true);
      wait_for(stolen);
    });
  };
  pool.run(job);
  CHECK(!timed_out.load());
  CHECK_EQ(claimed_by[0], 0);
  CHECK_EQ(claimed_by[1], 0);
  CHECK_EQ(claimed_by[19], 1);  // the end of thread 0's share went to thread 1
  CHECK_EQ(claimed_by[39], 1);
  int unclaimed = 0;
  for (int who : claimed_by) unclaimed += who < 0;
  CHECK_EQ(unclaimed, 0);
}

TEST_CASE("the last claims of a range shrink by halves, down to the smallest claim") {
  ThreadPool pool(1);
  StealingRanges ranges(1);
  const int64_t units[] = {40};
  for (const auto& [smallest, expected] : {std::pair<int64_t, std::vector<int64_t>>{1, {16, 12, 6, 3, 2, 1}},
                                           {4, {16, 12, 6, 4, 2}},
                                           {16, {16, 16, 8}}}) {
    ranges.reset(units, 1);
    std::vector<int64_t> sizes;
    auto job = [&](int index, int) { ranges.run(index, 16, smallest, [&](int, int64_t begin, int64_t end) { sizes.push_back(end - begin); }); };
    pool.run(job);
    CHECK(sizes == expected);
  }
}

TEST_CASE("a chunk of no units, or smaller than the smallest claim, is refused (no claim could advance)") {
  StealingRanges ranges(1);
  const int64_t units[] = {3};
  ranges.reset(units, 1);
  for (const auto& [chunk, smallest] : {std::pair<int64_t, int64_t>{0, 1}, {1, 0}, {2, 3}}) {
    bool refused = false;
    try {
      ranges.run(0, chunk, smallest, [](int, int64_t, int64_t) {});
    } catch (const alloy::Error& e) {
      refused = e.kind() == alloy::ErrorKind::internal;
    }
    CHECK(refused);
  }
}
