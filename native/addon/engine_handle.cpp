#include "engine_handle.h"

#include <cmath>
#include <optional>
#include <string>

#include "js_errors.h"
#include "js_values.h"
#include "sampler_handle.h"

namespace alloy_addon {

namespace {

constexpr double kMaxInt = 2147483647.0;
constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1

// One event on its way from the worker thread to JS.
struct EventPayload {
  bool done = false;
  alloy::TokenOutput token;
  alloy::GenerationSummary summary;
};

Napi::Object token_object(const Napi::Env& env, const alloy::TokenOutput& t) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", "token");
  o.Set("token", t.token);
  o.Set("text", t.text);
  o.Set("index", t.index);
  o.Set("tMs", t.t_ms);
  return o;
}

Napi::Object done_object(const Napi::Env& env, const alloy::GenerationSummary& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", "done");
  o.Set("stopReason", alloy::stop_reason_name(s.reason));
  if (s.reason == alloy::StopReason::error) {
    Napi::Object error = Napi::Object::New(env);
    error.Set("kind", alloy::error_kind_name(s.error_kind));
    error.Set("message", s.error_message);
    o.Set("error", error);
  }
  o.Set("text", s.text);
  o.Set("nPrompt", s.n_prompt);
  o.Set("nReused", s.n_reused);
  o.Set("nEvaluated", s.n_evaluated);
  o.Set("nGenerated", s.n_generated);
  o.Set("queueMs", s.queue_ms);
  o.Set("promptMs", s.prompt_ms);
  o.Set("firstTokenMs", s.first_token_ms);
  o.Set("totalMs", s.total_ms);
  o.Set("cancelLatencyMs", s.cancel_latency_ms);
  return o;
}

void deliver(Napi::Env env, Napi::Function callback, EventPayload* payload) {
  std::unique_ptr<EventPayload> owned(payload);
  if (env == nullptr || callback.IsEmpty()) return;  // the environment is shutting down
  callback.Call({owned->done ? done_object(env, owned->summary) : token_object(env, owned->token)});
}

// Forwards a job's output to its JS callback. Invariant: the thread-safe function is
// released exactly once - after the 'done' event, or when the job is dropped before running.
// DEBT: one small heap allocation per token (the event and its text) crosses to the JS
// thread; a per-request ring of preallocated events would remove it. Measured cost is in the
// bench's ipc_overhead_ms (about 1.3 ms per request end to end, not per token).
class JsSink final : public alloy::GenerationSink {
 public:
  explicit JsSink(Napi::ThreadSafeFunction tsfn) : tsfn_(std::move(tsfn)) {}
  ~JsSink() override {
    if (!released_) tsfn_.Release();
  }
  void on_token(alloy::TokenOutput token) override {
    auto* p = new EventPayload();
    p->token = std::move(token);
    send(p);
  }
  void on_done(alloy::GenerationSummary summary) override {
    auto* p = new EventPayload();
    p->done = true;
    p->summary = std::move(summary);
    send(p);
    tsfn_.Release();
    released_ = true;
  }

 private:
  // The queue is unbounded, so the worker never blocks on a busy JS thread.
  void send(EventPayload* p) {
    if (tsfn_.NonBlockingCall(p, deliver) != napi_ok) delete p;
  }
  Napi::ThreadSafeFunction tsfn_;
  bool released_ = false;
};

alloy::SchedulerParams read_engine_params(const Napi::Env& env, const Napi::Value& value) {
  const std::string what = "new Engine(model, options)";
  const Napi::Object o = options_object(env, value, what);
  check_known_keys(env, o, {"nCtx", "threads", "nBatch", "kvType", "kvBudgetBytes", "backend"}, what);
  alloy::SchedulerParams p;
  p.n_ctx = int_option(env, o, "nCtx", p.n_ctx, 1, kMaxInt, what);
  p.n_threads = int_option(env, o, "threads", p.n_threads, 1, kMaxInt, what);
  p.n_batch = int_option(env, o, "nBatch", p.n_batch, 1, kMaxInt, what);
  p.kv_type = read_kv_type(env, o, what);
  const double budget = number_option(env, o, "kvBudgetBytes", 0, what);
  if (!(std::trunc(budget) == budget && budget >= 0 && budget <= kMaxSafeInteger)) {
    throw_usage(env, what + ": 'kvBudgetBytes' must be a non-negative integer");
  }
  p.kv_budget_bytes = static_cast<size_t>(budget);
  const std::string backend = string_option(env, o, "backend", "auto", what);
  const std::optional<alloy::BackendPreference> preference = alloy::backend_preference_from_name(backend);
  if (!preference) throw_usage(env, what + ": 'backend' must be 'auto', 'cpu' or 'metal' (got '" + backend + "')");
  p.backend = *preference;
  return p;
}

Napi::Object backend_report_object(const Napi::Env& env, const alloy::BackendReport& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("preference", std::string(alloy::backend_preference_name(r.preference)));
  o.Set("kind", std::string(alloy::backend_kind_name(r.kind)));
  o.Set("device", r.device);
  o.Set("unifiedMemory", r.unified_memory);
  o.Set("dispatchesPerToken", r.dispatches_per_token);
  o.Set("fallbackReason", r.fallback_reason);
  return o;
}

alloy::GenerationRequest read_request(const Napi::Env& env, const Napi::Value& value) {
  const std::string what = "generate(options, onEvent)";
  if (!value.IsObject() || value.IsArray()) throw_usage(env, what + ": options must be an object");
  const Napi::Object o = value.As<Napi::Object>();
  check_known_keys(env, o, {"slot", "tokens", "maxTokens", "sampling", "stopTokens", "ignoreEos", "timeBudgetMs"}, what);
  alloy::GenerationRequest r;
  r.slot = string_option(env, o, "slot", "", what);
  read_int32_list(env, o.Get("tokens"), what + ": tokens", r.prompt);
  if (!o.Has("maxTokens")) throw_usage(env, what + ": 'maxTokens' is required");
  r.max_tokens = int_option(env, o, "maxTokens", 0, 0, kMaxInt, what);
  r.sampling = read_sampler_params(env, o.Get("sampling"), what + " sampling");
  if (o.Has("stopTokens") && !o.Get("stopTokens").IsUndefined()) {
    read_int32_list(env, o.Get("stopTokens"), what + ": stopTokens", r.stop_tokens);
  }
  r.ignore_eos = bool_option(env, o, "ignoreEos", false, what);
  r.time_budget_ms = number_option(env, o, "timeBudgetMs", 0, what);
  return r;
}

}  // namespace

Napi::Function EngineHandle::define(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {
                         InstanceMethod("generate", &EngineHandle::generate),
                         InstanceMethod("cancel", &EngineHandle::cancel),
                         InstanceMethod("stats", &EngineHandle::stats),
                         InstanceMethod("dispose", &EngineHandle::dispose),
                     });
}

EngineHandle::EngineHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<EngineHandle>(info) {
  const Napi::Env env = info.Env();
  ModelHandle& model = ModelHandle::unwrap(env, info.Length() > 0 ? info[0] : env.Undefined(), "new Engine(model, options): model");
  const alloy::SchedulerParams params = read_engine_params(env, info.Length() > 1 ? info[1] : env.Undefined());
  construct_or_throw(env, "the engine", [&] {
    parts_ = model.engine_parts(env);
    scheduler_ = std::make_unique<alloy::Scheduler>(*parts_.model, *parts_.tokenizer, params);
  });
}

alloy::Scheduler& EngineHandle::scheduler(const Napi::Env& env) {
  if (!scheduler_) throw_usage(env, "the engine is disposed");
  return *scheduler_;
}

Napi::Value EngineHandle::generate(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    alloy::Scheduler& s = scheduler(env);
    if (info.Length() < 2 || !info[1].IsFunction()) throw_usage(env, "generate(options, onEvent): onEvent must be a function");
    alloy::GenerationRequest request = read_request(env, info[0]);
    auto tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "alloy-generate", 0, 1);
    const uint64_t id = s.submit(std::move(request), std::make_unique<JsSink>(std::move(tsfn)));
    return Napi::Number::New(env, static_cast<double>(id));
  });
}

Napi::Value EngineHandle::cancel(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    alloy::Scheduler& s = scheduler(env);
    const double id = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : NAN;
    if (!(std::trunc(id) == id && id >= 0 && id <= kMaxSafeInteger)) throw_usage(env, "cancel(id): id must be a request id");
    return Napi::Boolean::New(env, s.cancel(static_cast<uint64_t>(id)));
  });
}

Napi::Value EngineHandle::stats(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    const alloy::SchedulerStats st = scheduler(env).stats();
    Napi::Object out = Napi::Object::New(env);
    Napi::Array slots = Napi::Array::New(env, st.slots.size());
    for (size_t i = 0; i < st.slots.size(); ++i) {
      Napi::Object slot = Napi::Object::New(env);
      slot.Set("name", st.slots[i].name);
      slot.Set("nCached", st.slots[i].n_cached);
      slot.Set("kvBytes", static_cast<double>(st.slots[i].kv_bytes));
      slot.Set("busy", st.slots[i].busy);
      slots.Set(static_cast<uint32_t>(i), slot);
    }
    out.Set("slots", slots);
    out.Set("kvBudgetBytes", static_cast<double>(st.kv_budget_bytes));
    out.Set("kvBytesInUse", static_cast<double>(st.kv_bytes_in_use));
    out.Set("activeRequests", st.active_requests);
    out.Set("queuedRequests", st.queued_requests);
    out.Set("slotsEvicted", static_cast<double>(st.slots_evicted));
    out.Set("backend", backend_report_object(env, scheduler(env).backend_report()));
    return out;
  });
}

Napi::Value EngineHandle::dispose(const Napi::CallbackInfo& info) {
  if (scheduler_) scheduler_->shutdown();
  scheduler_.reset();
  parts_ = ModelParts{};
  return info.Env().Undefined();
}

}  // namespace alloy_addon
