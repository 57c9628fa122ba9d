// The emulated dispatch (metal_emu.h): runs a kernel over a grid of threadgroups, one
// threadgroup after another; the threads of a threadgroup are lanes, each a Fiber, scheduled
// cooperatively and deterministically: every ready lane runs (in lane order, or reversed) until
// it waits at a threadgroup barrier or a SIMD-group operation, or returns. When no lane is
// ready, a SIMD group whose live lanes all wait at the same SIMD operation completes it (the
// values really move between lanes: simd_ops.h), and a barrier releases when every lane of the
// threadgroup waits at the same barrier. Anything else (a barrier that lanes which returned
// never reach, lanes at different barriers, a SIMD operation not reached by the whole SIMD
// group) can never complete: the dispatch stops with an error instead of hanging.
// Errors, also out-of-bounds accesses (buffer_view.h), end the dispatch and are returned in a
// DispatchReport, so tests can assert them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/metal/emu/buffer_view.h"
#include "backend/metal/emu/fiber.h"
#include "backend/metal/emu/metal_types.h"

namespace alloy::metal_emu {

constexpr uint32_t kSimdWidth = 32;                   // Apple GPUs: threads per SIMD group
constexpr uint32_t kMaxThreadsPerThreadgroup = 1024;  // MTLDevice.maxThreadsPerThreadgroup
constexpr size_t kMaxThreadgroupMemoryBytes = 32768;  // maxThreadgroupMemoryLength on Apple GPUs
constexpr size_t kThreadgroupMemoryGranule = 16;      // setThreadgroupMemoryLength's multiple
constexpr uint8_t kThreadgroupPoisonByte = 0xFF;      // fresh threadgroup memory (a NaN, or -1)

enum class LaneOrder { forward, reverse };

struct DispatchConfig {
  metal::uint3 threadgroups{1u, 1u, 1u};             // threadgroups per grid
  metal::uint3 threads_per_threadgroup{32u, 1u, 1u};
  std::vector<size_t> threadgroup_memory;            // bytes of [[threadgroup(n)]], n = index
  LaneOrder order = LaneOrder::forward;              // which lane runs first between syncs
};

// The values of the kernel attributes for one lane, and its threadgroup memory.
struct Lane {
  metal::uint3 thread_position_in_grid, threadgroup_position_in_grid, thread_position_in_threadgroup;
  metal::uint3 threads_per_threadgroup, threadgroups_per_grid, threads_per_grid;
  uint32_t thread_index_in_threadgroup = 0;
  uint32_t simdgroup_index_in_threadgroup = 0, thread_index_in_simdgroup = 0;
  uint32_t simdgroups_per_threadgroup = 0, threads_per_simdgroup = kSimdWidth;
  const std::vector<Region>* threadgroup_regions = nullptr;

  template <class T>
  Ptr<T> threadgroup_memory(size_t index) const {
    if (threadgroup_regions == nullptr || index >= threadgroup_regions->size())
      throw AccessFault("no threadgroup memory at index " + std::to_string(index));
    return Ptr<T>(&(*threadgroup_regions)[index], 0);
  }
};

// What one dispatch did: errors (empty when it ran cleanly) and counts of what completed.
struct DispatchReport {
  std::vector<std::string> errors;
  uint64_t threadgroups = 0, lanes = 0, barriers = 0, simd_ops = 0;
  bool ok() const { return errors.empty(); }
  bool mentions(const std::string& text) const {
    return std::any_of(errors.begin(), errors.end(), [&](const std::string& e) { return e.find(text) != std::string::npos; });
  }
  std::string summary() const {
    std::string s;
    for (const std::string& e : errors) s += e + "\n";
    return s;
  }
};

using KernelBody = std::function<void(const Lane&)>;

// A SIMD-group operation of one lane: its value and where the result goes; `apply` computes
// every participating lane's result once all of them have arrived (simd_ops.h).
struct SimdExchange {
  uint32_t lanes = 0;  // lanes of the SIMD group that exist (fewer in a partial last group)
  bool active[kSimdWidth] = {};
  const void* in[kSimdWidth] = {};
  void* out[kSimdWidth] = {};
  uint32_t arg[kSimdWidth] = {};
};
using SimdApply = const char* (*)(const SimdExchange&);  // an error message, or null
struct SimdRequest {
  SimdApply apply = nullptr;
  const void* in = nullptr;
  void* out = nullptr;
  uint32_t arg = 0;
};

namespace detail {

enum class LaneState { ready, at_barrier, at_simd, returned, faulted };

struct LaneSlot {
  Fiber fiber;
  Lane lane;
  LaneState state = LaneState::ready;
  const char* file = "";  // where it waits
  int line = 0;
  SimdRequest simd;
  std::string fault;
};

struct Runtime {
  const KernelBody* body = nullptr;
  std::vector<std::unique_ptr<LaneSlot>> slots;
  LaneSlot* current = nullptr;
};

inline thread_local Runtime* t_runtime = nullptr;

inline LaneSlot& current_lane(const char* what) {
  if (t_runtime == nullptr || t_runtime->current == nullptr)
    throw std::logic_error(std::string(what) + " called outside an emulated dispatch");
  return *t_runtime->current;
}

inline std::string where(const LaneSlot& s) { return std::string(s.file) + ":" + std::to_string(s.line); }
inline std::string lane_name(const Lane& l) {
  const auto& g = l.threadgroup_position_in_grid;
  return "threadgroup (" + std::to_string(g.x) + "," + std::to_string(g.y) + "," + std::to_string(g.z) +
         ") thread " + std::to_string(l.thread_index_in_threadgroup);
}

inline void lane_entry() {
  Runtime& rt = *t_runtime;
  LaneSlot& slot = *rt.current;
  slot.fiber.enter();
  try {
    (*rt.body)(slot.lane);
    slot.state = LaneState::returned;
  } catch (const std::exception& e) {  // no switch inside a handler: its state is per thread
    slot.fault = e.what();
    slot.state = LaneState::faulted;
  } catch (...) {
    slot.fault = "a kernel threw a non-standard exception";
    slot.state = LaneState::faulted;
  }
  slot.fiber.exit();
}

// Called by a lane: wait at a barrier or a SIMD operation until the scheduler releases it.
inline void wait(LaneState state, const char* file, int line, const SimdRequest& request) {
  LaneSlot& slot = current_lane("a threadgroup or SIMD-group synchronisation");
  slot.state = state;
  slot.file = file;
  slot.line = line;
  slot.simd = request;
  slot.fiber.suspend();
}

}  // namespace detail

// The lanes of one threadgroup from creation to completion (dispatch.cpp-style logic kept in
// this header so that tests need no extra library).
class ThreadgroupRun {
 public:
  ThreadgroupRun(detail::Runtime& rt, uint32_t n, LaneOrder order, DispatchReport& report)
      : rt_(rt), n_(n), order_(order), report_(report) {}

  // Runs every lane to its end; false (with an error in the report) if the dispatch must stop.
  bool run() {
    for (uint32_t i = 0; i < n_; ++i) slot(i).fiber.start(&detail::lane_entry);
    for (;;) {
      if (!run_ready_lanes()) return false;
      if (std::all_of(begin(), end(), [](auto& s) { return s->state == detail::LaneState::returned; })) return true;
      bool progressed = false;
      for (uint32_t g = 0; g * kSimdWidth < n_; ++g) {
        const int done = complete_simd_group(g);
        if (done < 0) return false;
        progressed |= done > 0;
      }
      if (progressed) continue;
      if (!release_barrier()) return false;
    }
  }

 private:
  using State = detail::LaneState;
  detail::LaneSlot& slot(uint32_t i) { return *rt_.slots[i]; }
  using SlotIterator = std::vector<std::unique_ptr<detail::LaneSlot>>::iterator;
  SlotIterator begin() { return rt_.slots.begin(); }
  SlotIterator end() { return rt_.slots.begin() + n_; }

  bool fail(std::string message) {
    report_.errors.push_back(std::move(message));
    return false;
  }

  bool run_ready_lanes() {
    for (uint32_t k = 0; k < n_; ++k) {
      detail::LaneSlot& s = slot(order_ == LaneOrder::forward ? k : n_ - 1 - k);
      if (s.state != State::ready) continue;
      rt_.current = &s;
      s.fiber.resume();
      rt_.current = nullptr;
      if (s.state == State::faulted) return fail(s.fault + " (" + detail::lane_name(s.lane) + ")");
    }
    return true;
  }

  // 1 if SIMD group g completed an operation, 0 if it cannot yet, -1 on an error.
  int complete_simd_group(uint32_t g) {
    const uint32_t first = g * kSimdWidth, count = std::min(kSimdWidth, n_ - first);
    detail::LaneSlot* leader = nullptr;
    for (uint32_t l = 0; l < count; ++l) {
      detail::LaneSlot& s = slot(first + l);
      if (s.state == State::returned) continue;
      if (s.state != State::at_simd) return 0;
      if (leader == nullptr) leader = &s;
      if (s.simd.apply != leader->simd.apply || s.line != leader->line || std::strcmp(s.file, leader->file) != 0) {
        fail("divergent SIMD-group operations in SIMD group " + std::to_string(g) + " of " + detail::lane_name(s.lane) +
             ": " + detail::where(*leader) + " and " + detail::where(s));
        return -1;
      }
    }
    if (leader == nullptr) return 0;
    SimdExchange ex;
    ex.lanes = count;
    for (uint32_t l = 0; l < count; ++l) {
      detail::LaneSlot& s = slot(first + l);
      ex.active[l] = s.state == State::at_simd;
      ex.in[l] = s.simd.in;
      ex.out[l] = s.simd.out;
      ex.arg[l] = s.simd.arg;
    }
    if (const char* error = leader->simd.apply(ex)) {
      fail(std::string(error) + " at " + detail::where(*leader) + " (" + detail::lane_name(leader->lane) + ")");
      return -1;
    }
    for (uint32_t l = 0; l < count; ++l) {
      if (ex.active[l]) slot(first + l).state = State::ready;
    }
    ++report_.simd_ops;
    return 1;
  }

  // Called when no lane is ready and no SIMD group can complete.
  bool release_barrier() {
    std::map<std::string, int> sites;  // where lanes wait, and how many
    uint32_t returned = 0, at_barrier = 0;
    for (auto it = begin(); it != end(); ++it) {
      const detail::LaneSlot& s = **it;
      if (s.state == State::returned) {
        ++returned;
        continue;
      }
      ++sites[(s.state == State::at_barrier ? "threadgroup_barrier at " : "SIMD-group operation at ") + detail::where(s)];
      if (s.state == State::at_barrier) ++at_barrier;
    }
    const std::string name = detail::lane_name(slot(0).lane);
    if (at_barrier == n_ - returned && sites.size() == 1 && returned == 0) {
      for (auto it = begin(); it != end(); ++it) (*it)->state = State::ready;
      ++report_.barriers;
      return true;
    }
    std::string waits;
    for (const auto& [site, count] : sites) waits += "; " + std::to_string(count) + " at " + site;
    if (at_barrier == n_ - returned && sites.size() == 1) {
      return fail("partial barrier in " + name + ": " + sites.begin()->first + " reached by " + std::to_string(at_barrier) +
                  " of " + std::to_string(n_) + " threads (" + std::to_string(returned) + " returned without it)");
    }
    return fail("threads of " + name + " can never proceed (" + std::to_string(returned) + " returned" + waits + ")");
  }

  detail::Runtime& rt_;
  uint32_t n_;
  LaneOrder order_;
  DispatchReport& report_;
};

inline std::string validate(const DispatchConfig& c) {
  const metal::uint3& t = c.threads_per_threadgroup;
  const metal::uint3& g = c.threadgroups;
  if (t.x == 0 || t.y == 0 || t.z == 0 || g.x == 0 || g.y == 0 || g.z == 0) return "empty grid or threadgroup";
  if (static_cast<uint64_t>(t.x) * t.y * t.z > kMaxThreadsPerThreadgroup) return "more than 1024 threads per threadgroup";
  size_t total = 0;
  for (size_t bytes : c.threadgroup_memory) {
    if (bytes % kThreadgroupMemoryGranule != 0) return "threadgroup memory length not a multiple of 16 bytes";
    total += bytes;
  }
  if (total > kMaxThreadgroupMemoryBytes) return "more than 32 KiB of threadgroup memory";
  return "";
}

// Runs `body` once per thread of the grid; body receives the lane's attribute values and calls
// the kernel with them (the kernel's parameter order, as the host binds its arguments).
inline DispatchReport dispatch(const DispatchConfig& config, const KernelBody& body) {
  DispatchReport report;
  if (std::string error = validate(config); !error.empty()) {
    report.errors.push_back("invalid dispatch: " + error);
    return report;
  }
  if (detail::t_runtime != nullptr) throw std::logic_error("nested emulated dispatch");
  const metal::uint3 tpt = config.threads_per_threadgroup, grid = config.threadgroups;
  const uint32_t n = tpt.x * tpt.y * tpt.z;
  std::vector<std::unique_ptr<AlignedBytes>> memory_storage;
  std::vector<Region> memory;
  for (size_t i = 0; i < config.threadgroup_memory.size(); ++i) {
    memory_storage.push_back(std::make_unique<AlignedBytes>(config.threadgroup_memory[i]));
    memory.push_back(Region{"threadgroup(" + std::to_string(i) + ")", AddressSpace::threadgroup,
                            memory_storage.back()->data(), config.threadgroup_memory[i]});
  }
  detail::Runtime rt;
  rt.body = &body;
  for (uint32_t i = 0; i < n; ++i) rt.slots.push_back(std::make_unique<detail::LaneSlot>());
  struct Scope {  // the lanes' runtime is this dispatch's until it returns or throws
    explicit Scope(detail::Runtime* r) { detail::t_runtime = r; }
    ~Scope() { detail::t_runtime = nullptr; }
  } scope(&rt);
  for (uint32_t gz = 0; gz < grid.z && report.ok(); ++gz) {
    for (uint32_t gy = 0; gy < grid.y && report.ok(); ++gy) {
      for (uint32_t gx = 0; gx < grid.x && report.ok(); ++gx) {
        for (const Region& r : memory) std::memset(r.data, kThreadgroupPoisonByte, r.size);
        for (uint32_t i = 0; i < n; ++i) {
          Lane& l = rt.slots[i]->lane;
          l.threadgroup_position_in_grid = metal::uint3(gx, gy, gz);
          l.thread_position_in_threadgroup = metal::uint3(i % tpt.x, (i / tpt.x) % tpt.y, i / (tpt.x * tpt.y));
          l.thread_position_in_grid = l.threadgroup_position_in_grid * tpt + l.thread_position_in_threadgroup;
          l.threads_per_threadgroup = tpt;
          l.threadgroups_per_grid = grid;
          l.threads_per_grid = grid * tpt;
          l.thread_index_in_threadgroup = i;
          l.simdgroup_index_in_threadgroup = i / kSimdWidth;
          l.thread_index_in_simdgroup = i % kSimdWidth;
          l.simdgroups_per_threadgroup = (n + kSimdWidth - 1) / kSimdWidth;
          l.threadgroup_regions = &memory;
          rt.slots[i]->state = detail::LaneState::ready;
        }
        ThreadgroupRun(rt, n, config.order, report).run();
        ++report.threadgroups;
        report.lanes += n;
      }
    }
  }
  return report;
}

}  // namespace alloy::metal_emu
