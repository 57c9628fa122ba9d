#include "model_loader.h"

#include <algorithm>
#include <memory>
#include <string>

#include "addon_data.h"
#include "core/error.h"
#include "core/page_in.h"
#include "js_errors.h"
#include "model_handle.h"

namespace alloy_addon {

namespace {

enum class LoadPhase { open, read, bind };

const char* phase_name(LoadPhase phase) {
  switch (phase) {
    case LoadPhase::open: return "open";
    case LoadPhase::read: return "read";
    case LoadPhase::bind: return "bind";
  }
  return "open";
}

struct LoadProgress {
  LoadPhase phase;
  double fraction;
};

// Overall progress: opening is quick, reading the weights is most of the time.
constexpr double kReadStart = 0.02;
constexpr double kReadEnd = 0.97;

class LoadWorker final : public Napi::AsyncProgressQueueWorker<LoadProgress> {
 public:
  LoadWorker(Napi::Env env, std::string path, Napi::Function on_progress)
      : Napi::AsyncProgressQueueWorker<LoadProgress>(env), path_(std::move(path)), deferred_(Napi::Promise::Deferred::New(env)) {
    if (!on_progress.IsEmpty()) on_progress_ = Napi::Persistent(on_progress);
  }

  Napi::Promise promise() const { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    try {
      progress.Send(new LoadProgress{LoadPhase::open, 0.0}, 1);
      parts_.file = std::make_shared<alloy::GgufFile>(alloy::GgufFile::open(path_));
      parts_.tokenizer = std::make_shared<const alloy::Tokenizer>(alloy::Tokenizer::load(*parts_.file));
      const alloy::ByteSpan bytes = parts_.file->file_bytes();
      const uint64_t data_offset = std::min<uint64_t>(parts_.file->data_offset(), bytes.size());
      double last_sent = 0;
      alloy::page_in(bytes.subspan(data_offset, bytes.size() - data_offset), [&](uint64_t done, uint64_t total) {
        const double fraction = kReadStart + (kReadEnd - kReadStart) * (total ? static_cast<double>(done) / total : 1.0);
        if (fraction - last_sent >= 0.01 || done == total) {
          last_sent = fraction;
          progress.Send(new LoadProgress{LoadPhase::read, fraction}, 1);
        }
        return true;
      });
      progress.Send(new LoadProgress{LoadPhase::bind, kReadEnd}, 1);
      parts_.model = alloy::Model::load(parts_.file);
      progress.Send(new LoadProgress{LoadPhase::bind, 1.0}, 1);
    } catch (const alloy::Error& e) {
      fail(e.kind(), e.what());
    } catch (const std::bad_alloc&) {
      fail(alloy::ErrorKind::out_of_memory, "out of memory loading the model");
    } catch (const std::exception& e) {
      fail(alloy::ErrorKind::internal, e.what());
    }
  }

  void OnProgress(const LoadProgress* data, size_t count) override {
    if (on_progress_.IsEmpty()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    for (size_t i = 0; i < count; ++i) {
      Napi::Object event = Napi::Object::New(env);
      event.Set("phase", phase_name(data[i].phase));
      event.Set("fraction", data[i].fraction);
      on_progress_.Call({event});
      if (env.IsExceptionPending()) env.GetAndClearPendingException();  // a throwing listener must not break the load
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      deferred_.Reject(to_js_error(env, *error_).Value());
      return;
    }
    Napi::Object model = addon_data(env).model_class.Value().New({Napi::External<ModelParts>::New(env, &parts_)});
    deferred_.Resolve(model);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  void fail(alloy::ErrorKind kind, const std::string& message) {
    error_ = std::make_unique<alloy::Error>(kind, message);
    parts_ = ModelParts{};
  }

  std::string path_;
  Napi::Promise::Deferred deferred_;
  Napi::FunctionReference on_progress_;
  ModelParts parts_;
  std::unique_ptr<alloy::Error> error_;
};

}  // namespace

Napi::Value load_model_js(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) throw_usage(env, "loadModel(path, onProgress?): path must be a string");
    Napi::Function on_progress;
    if (info.Length() > 1 && !info[1].IsUndefined()) {
      if (!info[1].IsFunction()) throw_usage(env, "loadModel(path, onProgress?): onProgress must be a function");
      on_progress = info[1].As<Napi::Function>();
    }
    auto* worker = new LoadWorker(env, info[0].As<Napi::String>().Utf8Value(), on_progress);
    const Napi::Promise promise = worker->promise();
    worker->Queue();  // the worker deletes itself after OnOK / OnError
    return promise;
  });
}

}  // namespace alloy_addon
