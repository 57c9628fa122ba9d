#include "backend/metal/host/metal_executor.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "backend/metal/host/plan_encoding.h"
#include "core/error.h"

namespace alloy::metal {

namespace {

[[noreturn]] void unavailable(const std::string& what, const AlloyMetalError& error) {
  throw Error(ErrorKind::backend_unavailable, what + ": " + error.message);
}

struct ContextDeleter {
  void operator()(AlloyMetalContext* context) const { alloy_metal_context_destroy(context); }
};

// Host buffer ids: BufferId b is id b; the ids after them hold the KV caches of the sequences
// used most recently (one wrap each, no copy).
constexpr uint32_t kFirstKvId = kBufferCount;
constexpr uint32_t kKvIds = kAlloyMetalMaxBuffers - kBufferCount;
static_assert(kAlloyMetalMaxBuffers > kBufferCount, "no host buffer id left for KV caches");

bool allocated(BufferId id) { return id != BufferId::weights && id != BufferId::kv; }

class HostExecutor final : public PlanExecutor {
 public:
  HostExecutor(const Model& model, const std::vector<Plan>& plans) {
    AlloyMetalError error{};
    AlloyMetalDeviceInfo info{};
    context_.reset(alloy_metal_context_create(&info, &error));
    if (!context_) unavailable("no usable Metal GPU", error);
    facts_.name = info.name;
    facts_.unified_memory = info.unified_memory != 0;
    for (const Plan& plan : plans) add_pipelines(plan, pipelines_);
    const std::vector<const char*> names = pipeline_name_pointers(pipelines_);
    if (alloy_metal_create_pipelines(context_.get(), names.data(), static_cast<uint32_t>(names.size()), &error) != ALLOY_METAL_OK) {
      unavailable("the Metal kernels did not build", error);
    }
    const ByteSpan file = model.file().file_bytes();
    uint64_t total = file.size();
    for (int b = 0; b < kBufferCount; ++b) {
      if (!allocated(static_cast<BufferId>(b))) continue;
      for (const Plan& plan : plans) capacity_[b] = std::max(capacity_[b], plan.buffer_bytes[b]);
      capacity_[b] = std::max<uint64_t>(capacity_[b], 16);
      total += capacity_[b];
    }
    if (info.recommended_working_set != 0 && total > info.recommended_working_set) {
      throw Error(ErrorKind::backend_unavailable, "the model and its GPU buffers (" + std::to_string(total >> 20) +
                                                      " MiB) exceed the GPU's recommended working set (" +
                                                      std::to_string(info.recommended_working_set >> 20) + " MiB)");
    }
    if (alloy_metal_wrap_buffer(context_.get(), static_cast<uint32_t>(BufferId::weights), file.data(), file.size(), &error) !=
        ALLOY_METAL_OK) {
      unavailable("the model file cannot be shared with the GPU", error);
    }
    for (int b = 0; b < kBufferCount; ++b) {
      if (!allocated(static_cast<BufferId>(b))) continue;
      if (alloy_metal_alloc_buffer(context_.get(), static_cast<uint32_t>(b), capacity_[b], &contents_[b], &error) != ALLOY_METAL_OK) {
        unavailable(std::string("cannot allocate the GPU buffer ") + buffer_name(static_cast<BufferId>(b)), error);
      }
    }
  }

  void run(const Plan& plan, const StepInputs& inputs, KvMemory kv, float* logits, size_t logits_capacity) override {
    for (int b = 0; b < kBufferCount; ++b) {
      if (allocated(static_cast<BufferId>(b)) && plan.buffer_bytes[b] > capacity_[b]) {
        throw Error(ErrorKind::internal, std::string("Metal step needs more of buffer ") + buffer_name(static_cast<BufferId>(b)) +
                                             " than was allocated at load");
      }
    }
    const size_t token_bytes = static_cast<size_t>(inputs.n_tokens) * sizeof(int32_t);
    for (const BufferId id : {BufferId::ids, BufferId::positions}) {
      if (token_bytes > capacity_[static_cast<int>(id)]) throw Error(ErrorKind::internal, "Metal step has more tokens than its plan");
    }
    std::memcpy(contents_[static_cast<int>(BufferId::ids)], inputs.ids, token_bytes);
    std::memcpy(contents_[static_cast<int>(BufferId::positions)], inputs.positions, token_bytes);
    HostBufferIds buffers = identity_buffer_ids();
    buffers[static_cast<int>(BufferId::kv)] = kv_buffer(kv);
    // DEBT: the encoded plan's vectors are allocated per step; a cached decode encoding with
    // patched positions would make a step allocation-free on the host.
    const EncodedPlan encoded = encode_plan(plan, pipelines_, buffers);
    AlloyMetalError error{};
    if (alloy_metal_run(context_.get(), encoded.dispatches().data(), static_cast<uint32_t>(encoded.dispatches().size()), nullptr,
                        &error) != ALLOY_METAL_OK) {
      unavailable("a Metal step failed", error);
    }
    if (logits == nullptr) return;
    const size_t floats = plan.buffer_bytes[static_cast<int>(BufferId::logits)] / sizeof(float);
    if (floats > logits_capacity) throw Error(ErrorKind::internal, "Metal logits do not fit the caller's buffer");
    std::memcpy(logits, contents_[static_cast<int>(BufferId::logits)], floats * sizeof(float));
  }

  DeviceFacts facts() const override { return facts_; }

 private:
  struct KvBinding {
    const uint8_t* data = nullptr;
    uint64_t bytes = 0;
    uint64_t last_used = 0;
  };

  // The host id holding `kv`: the same one as last time, or a free (else the least recently
  // used) id wrapped around it.
  uint32_t kv_buffer(KvMemory kv) {
    ++tick_;
    for (uint32_t i = 0; i < kKvIds; ++i) {
      if (kv_[i].data == kv.data && kv_[i].bytes == kv.bytes) {
        kv_[i].last_used = tick_;
        return kFirstKvId + i;
      }
    }
    uint32_t pick = 0;
    for (uint32_t i = 1; i < kKvIds; ++i) {
      if (kv_[i].last_used < kv_[pick].last_used) pick = i;
    }
    AlloyMetalError error{};
    const uint32_t host_id = kFirstKvId + pick;
    if (alloy_metal_release_buffer(context_.get(), host_id, &error) != ALLOY_METAL_OK ||
        alloy_metal_wrap_buffer(context_.get(), host_id, kv.data, kv.bytes, &error) != ALLOY_METAL_OK) {
      kv_[pick] = KvBinding{};
      unavailable("the KV cache cannot be shared with the GPU", error);
    }
    kv_[pick] = KvBinding{kv.data, kv.bytes, tick_};
    return host_id;
  }

  std::unique_ptr<AlloyMetalContext, ContextDeleter> context_;
  DeviceFacts facts_;
  std::vector<std::string> pipelines_;
  std::array<uint64_t, kBufferCount> capacity_{};
  std::array<void*, kBufferCount> contents_{};
  std::array<KvBinding, kKvIds> kv_{};
  uint64_t tick_ = 0;
};

}  // namespace

std::unique_ptr<PlanExecutor> create_host_executor(const Model& model, const std::vector<Plan>& plans) {
  return std::make_unique<HostExecutor>(model, plans);
}

}  // namespace alloy::metal
