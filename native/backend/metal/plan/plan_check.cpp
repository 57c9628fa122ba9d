// check_plan (forward_plan.h): every binding inside its buffer, no slot bound twice, and every
// range a dispatch reads written before it - by an earlier dispatch, or by the host for the
// buffers it fills (weights, ids, positions) and the KV cache (which holds earlier steps).
#include <algorithm>
#include <string>
#include <utility>

#include "backend/metal/plan/forward_plan.h"
#include "core/error.h"

namespace alloy::metal {

namespace {

// Disjoint, sorted [begin, end) ranges of one buffer that hold data.
class Written {
 public:
  void add(uint64_t begin, uint64_t end) {
    ranges_.emplace_back(begin, end);
    std::sort(ranges_.begin(), ranges_.end());
    std::vector<std::pair<uint64_t, uint64_t>> merged;
    for (const auto& r : ranges_) {
      if (!merged.empty() && r.first <= merged.back().second) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    ranges_ = std::move(merged);
  }
  bool covers(uint64_t begin, uint64_t end) const {
    return std::any_of(ranges_.begin(), ranges_.end(), [&](const auto& r) { return r.first <= begin && end <= r.second; });
  }

 private:
  std::vector<std::pair<uint64_t, uint64_t>> ranges_;
};

bool host_filled(BufferId id) {
  switch (id) {
    case BufferId::weights:
    case BufferId::ids:
    case BufferId::positions:
    case BufferId::kv: return true;
    case BufferId::x:
    case BufferId::q:
    case BufferId::k:
    case BufferId::v:
    case BufferId::attn:
    case BufferId::ffn:
    case BufferId::logits: return false;
  }
  return false;
}

[[noreturn]] void fail(size_t index, const Dispatch& d, const std::string& what) {
  throw Error(ErrorKind::internal, "Metal plan: dispatch " + std::to_string(index) + " (" + d.pipeline + "): " + what);
}

}  // namespace

void check_plan(const Plan& plan) {
  Written written[kBufferCount];
  for (int b = 0; b < kBufferCount; ++b) {
    if (host_filled(static_cast<BufferId>(b))) written[b].add(0, plan.buffer_bytes[b]);
  }
  for (size_t i = 0; i < plan.dispatches.size(); ++i) {
    const Dispatch& d = plan.dispatches[i];
    if (d.threadgroups.x == 0 || d.threadgroups.y == 0 || d.threadgroups.z == 0) fail(i, d, "empty grid");
    std::vector<uint32_t> slots{0};  // slot 0: the arguments
    for (const Binding& b : d.bindings) {
      const int id = static_cast<int>(b.buffer);
      const uint64_t end = b.offset + b.bytes;
      if (std::find(slots.begin(), slots.end(), b.slot) != slots.end()) fail(i, d, "slot bound twice");
      slots.push_back(b.slot);
      if (end < b.offset || end > plan.buffer_bytes[id]) {
        fail(i, d, std::string("binds ") + buffer_name(b.buffer) + " [" + std::to_string(b.offset) + ", " +
                       std::to_string(end) + ") past its " + std::to_string(plan.buffer_bytes[id]) + " bytes");
      }
      if (b.access != Access::write && b.bytes > 0 && !written[id].covers(b.offset, end)) {
        fail(i, d, std::string("reads ") + buffer_name(b.buffer) + " before anything wrote it");
      }
    }
    for (const Binding& b : d.bindings) {
      if (b.access != Access::read && b.bytes > 0) written[static_cast<int>(b.buffer)].add(b.offset, b.offset + b.bytes);
    }
  }
}

}  // namespace alloy::metal
