// The engine worker: slots reuse their longest common prefix and are evicted least recently
// used first within the KV budget; the scheduler streams llama.cpp's greedy continuation of
// stories260K, interleaves requests on different slots, supersedes on the same slot,
// cancels at once, honours time budgets and refuses bad requests with typed errors.
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "check.h"
#include "core/error.h"
#include "core/model.h"
#include "core/scheduler.h"
#include "core/slot_pool.h"
#include "core/tokenizer.h"

using namespace alloy;

namespace {

// "Once upon a time" with BOS, and llama.cpp's first 20 greedy tokens after it (models/README.md).
const std::vector<int32_t> kStoriesPrompt = {1, 403, 407, 261, 378};
const std::vector<int32_t> kStoriesGreedy = {432, 383, 286, 261, 376, 298, 315, 421, 395, 317,
                                             426, 338, 401, 396, 267, 337, 410, 408, 419, 292};

struct Outcome {
  std::vector<int32_t> tokens;
  std::string text;
  GenerationSummary summary;
  bool done = false;
};

// Collects a job's events; wait() blocks until on_done.
class Recorder {
 public:
  class Sink final : public GenerationSink {
   public:
    explicit Sink(Recorder& r) : r_(r) {}
    void on_token(TokenOutput t) override {
      std::lock_guard<std::mutex> lock(r_.mutex_);
      r_.outcome_.tokens.push_back(t.token);
      r_.outcome_.text += t.text;
      r_.cv_.notify_all();
    }
    void on_done(GenerationSummary s) override {
      std::lock_guard<std::mutex> lock(r_.mutex_);
      r_.outcome_.text += s.text;
      r_.outcome_.summary = std::move(s);
      r_.outcome_.done = true;
      r_.cv_.notify_all();
    }

   private:
    Recorder& r_;
  };

  std::unique_ptr<GenerationSink> sink() { return std::make_unique<Sink>(*this); }
  Outcome wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [this] { return outcome_.done; });
    return outcome_;
  }
  void wait_for_tokens(size_t n) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return outcome_.done || outcome_.tokens.size() >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  Outcome outcome_;
};

struct Stories {
  std::shared_ptr<const GgufFile> file =
      std::make_shared<const GgufFile>(GgufFile::open(alloy_test::shared_models_dir() + "/stories260K.gguf"));
  Tokenizer tokenizer = Tokenizer::load(*file);
  std::shared_ptr<const Model> model = Model::load(file);
};

GenerationRequest request(const std::string& slot, std::vector<int32_t> prompt, int max_tokens) {
  GenerationRequest r;
  r.slot = slot;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  return r;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

SlotShape tiny_shape() { return SlotShape{2, 16, 8, KvType::f32}; }

}  // namespace

TEST_CASE("next_step_size never leaves a one-token step behind a longer one") {
  CHECK_EQ(next_step_size(4, 4), 4);
  CHECK_EQ(next_step_size(5, 4), 3);  // then 2
  CHECK_EQ(next_step_size(33, 32), 31);
  CHECK_EQ(next_step_size(34, 32), 32);
  CHECK_EQ(next_step_size(1, 32), 1);
  CHECK_EQ(next_step_size(10, 1), 1);
}

TEST_CASE("reuse_prefix keeps the longest common prefix but re-evaluates the last two prompt tokens") {
  SlotPool pool(tiny_shape(), 1 << 20);
  Slot& slot = pool.acquire("s");
  slot.tokens = {5, 6, 7, 8};
  slot.cache->commit(4);
  CHECK_EQ(reuse_prefix(slot, {5, 6, 7, 9}), 2);  // 3 in common, but 7 and 9 are evaluated together
  CHECK_EQ(slot.cache->n_filled(), 2);
  CHECK_EQ(reuse_prefix(slot, {5, 6, 9}), 1);
  slot.tokens = {5, 6, 7};
  slot.cache->commit(2);
  CHECK_EQ(reuse_prefix(slot, {5, 6, 7}), 1);  // identical prompt: the last two tokens are evaluated again
  CHECK_EQ(reuse_prefix(slot, {1}), 0);
  CHECK_EQ(slot.tokens.size(), static_cast<size_t>(0));
}

TEST_CASE("the slot pool evicts idle slots least recently used first and never a busy one") {
  const size_t one = KvCache::bytes_for(2, 16, 8, KvType::f32);
  SlotPool pool(tiny_shape(), 2 * one);
  Slot& a = pool.acquire("a");
  pool.release(a);
  Slot& b = pool.acquire("b");
  pool.release(b);
  pool.release(pool.acquire("a"));  // a is now the most recently used
  pool.release(pool.acquire("c"));  // evicts b
  CHECK_EQ(pool.evictions(), static_cast<uint64_t>(1));
  std::vector<std::string> names;
  for (const SlotInfo& s : pool.snapshot()) names.push_back(s.name);
  CHECK(names == (std::vector<std::string>{"a", "c"}));
  pool.acquire("a");
  pool.acquire("c");
  CHECK_THROWS_KIND(pool.acquire("d"), ErrorKind::out_of_memory);  // both busy
  CHECK_THROWS_KIND(SlotPool(tiny_shape(), one - 1), ErrorKind::out_of_memory);
}

TEST_CASE("streams llama.cpp's greedy continuation and reuses the prefix on the next request") {
  Stories s;
  SchedulerParams p;
  p.n_ctx = 64;
  p.n_threads = 2;
  Scheduler scheduler(*s.model, s.tokenizer, p);
  Recorder first;
  scheduler.submit(request("completion", kStoriesPrompt, 20), first.sink());
  const Outcome a = first.wait();
  CHECK(a.tokens == kStoriesGreedy);
  CHECK_EQ(std::string(stop_reason_name(a.summary.reason)), std::string("max_tokens"));
  CHECK_EQ(a.summary.n_reused, 0);
  CHECK_EQ(a.summary.n_evaluated, 5);
  CHECK_EQ(a.text, s.tokenizer.detokenize(concat(kStoriesPrompt, kStoriesGreedy), false).substr(s.tokenizer.detokenize(kStoriesPrompt, false).size()));

  // The slot holds the prompt and the first 19 generated tokens (the 20th was never evaluated).
  Recorder second;
  const std::vector<int32_t> longer = concat(kStoriesPrompt, std::vector<int32_t>(kStoriesGreedy.begin(), kStoriesGreedy.begin() + 10));
  scheduler.submit(request("completion", longer, 10), second.sink());
  const Outcome b = second.wait();
  CHECK_EQ(b.summary.n_reused, static_cast<int>(longer.size()) - 2);
  CHECK_EQ(b.summary.n_evaluated, 2);
  CHECK(b.tokens == std::vector<int32_t>(kStoriesGreedy.begin() + 10, kStoriesGreedy.end()));
}

TEST_CASE("requests on different slots interleave and both finish; a new request on a slot supersedes") {
  Stories s;
  SchedulerParams p;
  p.n_ctx = 128;
  Scheduler scheduler(*s.model, s.tokenizer, p);
  Recorder chat, completion, superseded, replacement;
  GenerationRequest long_chat = request("chat", kStoriesPrompt, 100);
  long_chat.ignore_eos = true;
  scheduler.submit(std::move(long_chat), chat.sink());
  scheduler.submit(request("completion", kStoriesPrompt, 20), completion.sink());
  CHECK(completion.wait().tokens == kStoriesGreedy);
  const Outcome c = chat.wait();
  CHECK_EQ(c.tokens.size(), static_cast<size_t>(100));
  CHECK(std::vector<int32_t>(c.tokens.begin(), c.tokens.begin() + 20) == kStoriesGreedy);

  GenerationRequest endless = request("completion", {1, 403}, 120);
  endless.ignore_eos = true;
  scheduler.submit(std::move(endless), superseded.sink());
  superseded.wait_for_tokens(3);
  scheduler.submit(request("completion", kStoriesPrompt, 20), replacement.sink());
  const Outcome old = superseded.wait();
  CHECK_EQ(std::string(stop_reason_name(old.summary.reason)), std::string("superseded"));
  CHECK(old.tokens.size() < static_cast<size_t>(120));
  CHECK(replacement.wait().tokens == kStoriesGreedy);
}

TEST_CASE("cancel stops a running request before its next token; time budgets end generation") {
  Stories s;
  SchedulerParams p;
  p.n_ctx = 256;
  Scheduler scheduler(*s.model, s.tokenizer, p);
  Recorder running;
  GenerationRequest endless = request("completion", kStoriesPrompt, 250);
  endless.ignore_eos = true;
  const uint64_t id = scheduler.submit(std::move(endless), running.sink());
  running.wait_for_tokens(2);
  CHECK(scheduler.cancel(id));
  const Outcome o = running.wait();
  CHECK_EQ(std::string(stop_reason_name(o.summary.reason)), std::string("cancelled"));
  CHECK(o.tokens.size() < static_cast<size_t>(250));
  CHECK(o.summary.cancel_latency_ms >= 0.0);
  CHECK(!scheduler.cancel(id));  // finished: unknown now

  Recorder budgeted;
  GenerationRequest timed = request("completion", kStoriesPrompt, 250);
  timed.ignore_eos = true;
  timed.time_budget_ms = 0.001;
  scheduler.submit(std::move(timed), budgeted.sink());
  CHECK_EQ(std::string(stop_reason_name(budgeted.wait().summary.reason)), std::string("time_budget"));
}

TEST_CASE("bad requests are refused with typed errors; shutdown cancels what is queued") {
  Stories s;
  SchedulerParams p;
  p.n_ctx = 8;
  Scheduler scheduler(*s.model, s.tokenizer, p);
  Recorder unused;
  CHECK_THROWS_KIND(scheduler.submit(request("completion", std::vector<int32_t>(9, 1), 1), unused.sink()), ErrorKind::prompt_too_long);
  CHECK_THROWS_KIND(scheduler.submit(request("completion", {}, 1), unused.sink()), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(scheduler.submit(request("completion", {1, 100000}, 1), unused.sink()), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(scheduler.submit(request("", {1}, 1), unused.sink()), ErrorKind::invalid_argument);
  CHECK_THROWS_KIND(scheduler.submit(request("completion", {1}, -1), unused.sink()), ErrorKind::invalid_argument);
  GenerationRequest bad_sampling = request("completion", {1}, 1);
  bad_sampling.sampling.top_p = 2.0f;
  CHECK_THROWS_KIND(scheduler.submit(std::move(bad_sampling), unused.sink()), ErrorKind::invalid_argument);

  Recorder full;
  scheduler.submit(request("completion", {1, 403, 407, 261, 378, 432}, 10), full.sink());
  const Outcome o = full.wait();
  CHECK_EQ(std::string(stop_reason_name(o.summary.reason)), std::string("context_full"));
  CHECK_EQ(o.tokens.size(), static_cast<size_t>(3));  // positions 6 and 7 evaluated, the third token sampled

  Recorder a, b;
  GenerationRequest endless = request("one", {1}, 7);
  endless.ignore_eos = true;
  scheduler.submit(std::move(endless), a.sink());
  scheduler.submit(request("two", {1}, 7), b.sink());
  scheduler.shutdown();
  a.wait();
  b.wait();
  CHECK_THROWS_KIND(scheduler.submit(request("completion", {1}, 1), unused.sink()), ErrorKind::invalid_argument);
}
