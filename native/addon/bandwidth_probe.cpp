#include "bandwidth_probe.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "js_errors.h"
#include "js_values.h"

namespace alloy_addon {

namespace {

constexpr const char* kUsage = "measureReadBandwidth({mib, threads, repeats})";
constexpr int kDefaultMib = 1024;
constexpr int kDefaultRepeats = 5;
constexpr int kMaxMib = 65536;
constexpr int kMaxThreads = 1024;
constexpr int kMaxRepeats = 1000;
// Each thread reads its slice as kStreams sequential streams in lockstep, one cache line of
// each per step: more cache misses in flight than one stream keeps, as a matrix-vector
// product over many rows has (one stream per thread measured ~30 % less on a 2-core Xeon).
constexpr size_t kStreams = 8;
constexpr size_t kLineWords = 8;  // 64 bytes

constexpr uint64_t kFillStep = 0x9E3779B97F4A7C15ull;  // word i holds i * kFillStep

// Sums `count` words: kStreams equal parts read side by side into kStreams x kLineWords
// accumulators (independent add chains; plain loads the compiler turns into vector loads and
// adds), then the tail. Invariant: words points at `count` readable, initialised uint64_t.
uint64_t sum_words(const uint64_t* words, size_t count) {
  const size_t per_stream = count / kStreams / kLineWords * kLineWords;
  uint64_t acc[kStreams][kLineWords] = {};
  for (size_t i = 0; i < per_stream; i += kLineWords) {
    for (size_t s = 0; s < kStreams; ++s) {
      for (size_t k = 0; k < kLineWords; ++k) acc[s][k] += words[s * per_stream + i + k];
    }
  }
  uint64_t total = 0;
  for (const auto& stream : acc) {
    for (uint64_t a : stream) total += a;
  }
  for (size_t i = kStreams * per_stream; i < count; ++i) total += words[i];
  return total;
}

// Runs body(t) on `threads` threads at once and returns the seconds from the moment all of
// them were ready until the last finished (thread start-up is not timed). Joins every
// started thread before it returns or rethrows.
template <typename Body>
double timed_on_threads(int threads, const Body& body) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  const auto join_all = [&] {
    go.store(true, std::memory_order_release);
    for (std::thread& th : pool) th.join();
  };
  try {
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        ready.fetch_add(1, std::memory_order_acq_rel);
        while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
        body(t);
      });
    }
  } catch (...) {
    join_all();
    throw;
  }
  while (ready.load(std::memory_order_acquire) < threads) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  join_all();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Thread t's slice [begin, end) of n words.
size_t slice_begin(size_t n, int threads, int t) { return n / static_cast<size_t>(threads) * static_cast<size_t>(t); }
size_t slice_end(size_t n, int threads, int t) { return t + 1 == threads ? n : slice_begin(n, threads, t + 1); }

}  // namespace

std::vector<double> measure_read_bandwidth(size_t mib, int threads, int repeats) {
  const size_t n = mib * (size_t{1} << 20) / sizeof(uint64_t);
  const std::unique_ptr<uint64_t[]> words(new uint64_t[n]);  // uninitialised: the threads write it
  timed_on_threads(threads, [&](int t) {
    for (size_t i = slice_begin(n, threads, t); i < slice_end(n, threads, t); ++i) words[i] = i * kFillStep;
  });
  // The sum of every word (mod 2^64): each pass must find it, which proves it read them all
  // (and keeps the compiler from dropping the loads).
  const uint64_t n64 = n;
  const uint64_t expected = (n64 % 2 == 0 ? n64 / 2 * (n64 - 1) : (n64 - 1) / 2 * n64) * kFillStep;
  const auto read_pass = [&] {
    std::atomic<uint64_t> sum{0};
    const double seconds = timed_on_threads(threads, [&](int t) {
      const size_t begin = slice_begin(n, threads, t);
      sum.fetch_add(sum_words(words.get() + begin, slice_end(n, threads, t) - begin), std::memory_order_relaxed);
    });
    if (sum.load() != expected) throw std::logic_error("bandwidth probe: a pass did not read every word once");
    return seconds;
  };
  read_pass();  // untimed: first use of the threads' stacks and the page tables
  std::vector<double> gbs;
  for (int r = 0; r < repeats; ++r) gbs.push_back(static_cast<double>(n * sizeof(uint64_t)) / read_pass() / 1e9);
  return gbs;
}

Napi::Value measure_read_bandwidth_js(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const Napi::Object o = options_object(env, info.Length() > 0 ? info[0] : env.Undefined(), kUsage);
    check_known_keys(env, o, {"mib", "threads", "repeats"}, kUsage);
    const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int mib = int_option(env, o, "mib", kDefaultMib, 1, kMaxMib, kUsage);
    const int threads = int_option(env, o, "threads", hardware, 1, kMaxThreads, kUsage);
    const int repeats = int_option(env, o, "repeats", kDefaultRepeats, 1, kMaxRepeats, kUsage);
    const std::vector<double> samples = measure_read_bandwidth(static_cast<size_t>(mib), threads, repeats);
    std::vector<double> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    Napi::Object out = Napi::Object::New(env);
    out.Set("best_gbs", sorted.back());
    out.Set("median_gbs", sorted[sorted.size() / 2]);
    Napi::Array list = Napi::Array::New(env, samples.size());
    for (size_t i = 0; i < samples.size(); ++i) list.Set(static_cast<uint32_t>(i), samples[i]);
    out.Set("samples_gbs", list);
    out.Set("mib", mib);
    out.Set("threads", threads);
    out.Set("repeats", repeats);
    return out;
  });
}

}  // namespace alloy_addon
