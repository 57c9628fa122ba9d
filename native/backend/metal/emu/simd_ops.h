// MSL's SIMD-group and threadgroup synchronisation functions for emulated kernels
// (metal_emu.h). Each call is a rendezvous: the lane posts its value and waits until the
// scheduler (dispatch.h) has gathered every live lane of its SIMD group at the same call, then
// the results are computed from all the posted values at once.
//
// Semantics kept from MSL: lanes that have returned, and the missing lanes of a partial last
// SIMD group, are inactive: reductions cover the active lanes, and a shuffle that reads an
// inactive lane is an error (undefined on the GPU). simd_shuffle_down / _up leave the value of
// lanes whose source lies outside the 32 lanes unchanged. Reductions add in a fixed pairwise
// tree (lane l with l + 16, then + 8, + 4, + 2, + 1); the GPU's order is unspecified, which
// the kernel tests' tolerances cover.
// A call site is identified by file and line (default arguments the kernel never spells), so
// lanes at two different barriers or SIMD operations are told apart.
#pragma once

#include <cstdint>

#include "backend/metal/emu/dispatch.h"
#include "backend/metal/emu/metal_types.h"

namespace alloy::metal_emu::detail {

struct Add {
  template <class T>
  T operator()(const T& a, const T& b) const { return a + b; }
};
struct Max {
  template <class T>
  T operator()(const T& a, const T& b) const { return b > a ? b : a; }
};
struct Min {
  template <class T>
  T operator()(const T& a, const T& b) const { return b < a ? b : a; }
};

template <class T, class Combine>
const char* reduce(const SimdExchange& ex) {
  T v[kSimdWidth];
  bool has[kSimdWidth];
  for (uint32_t l = 0; l < kSimdWidth; ++l) {
    has[l] = l < ex.lanes && ex.active[l];
    if (has[l]) v[l] = *static_cast<const T*>(ex.in[l]);
  }
  for (uint32_t width = kSimdWidth / 2; width >= 1; width /= 2) {
    for (uint32_t i = 0; i < width; ++i) {
      if (!has[i + width]) continue;
      v[i] = has[i] ? Combine()(v[i], v[i + width]) : v[i + width];
      has[i] = true;
    }
  }
  for (uint32_t l = 0; l < ex.lanes; ++l) {
    if (ex.active[l]) *static_cast<T*>(ex.out[l]) = v[0];
  }
  return nullptr;
}

enum class Shuffle { index, down, up, xor_mask };

// The lane whose value lane l receives.
inline uint32_t shuffle_source(Shuffle kind, uint32_t l, uint32_t a) {
  switch (kind) {
    case Shuffle::index: return a;
    case Shuffle::down: return l + a < kSimdWidth ? l + a : l;
    case Shuffle::up: return l >= a ? l - a : l;
    case Shuffle::xor_mask: return l ^ a;
  }
  return l;
}

template <class T, Shuffle kKind>
const char* shuffle(const SimdExchange& ex) {
  for (uint32_t l = 0; l < ex.lanes; ++l) {
    if (!ex.active[l]) continue;
    const uint32_t source = shuffle_source(kKind, l, ex.arg[l]);
    if (source >= ex.lanes || !ex.active[source]) return "SIMD shuffle reads an inactive lane";
  }
  T values[kSimdWidth];
  for (uint32_t l = 0; l < ex.lanes; ++l) {
    if (ex.active[l]) values[l] = *static_cast<const T*>(ex.in[l]);
  }
  for (uint32_t l = 0; l < ex.lanes; ++l) {
    if (!ex.active[l]) continue;
    *static_cast<T*>(ex.out[l]) = values[shuffle_source(kKind, l, ex.arg[l])];
  }
  return nullptr;
}

inline const char* no_exchange(const SimdExchange&) { return nullptr; }

template <class T>
T simd_exchange(SimdApply apply, const T& value, uint32_t arg, const char* file, int line) {
  T result = value;
  wait(LaneState::at_simd, file, line, SimdRequest{apply, &value, &result, arg});
  return result;
}

}  // namespace alloy::metal_emu::detail

namespace metal {

namespace emu_detail = alloy::metal_emu::detail;

enum class mem_flags : unsigned { mem_none = 0, mem_device = 1, mem_threadgroup = 2, mem_texture = 4 };
inline mem_flags operator|(mem_flags a, mem_flags b) { return static_cast<mem_flags>(static_cast<unsigned>(a) | static_cast<unsigned>(b)); }

// Every thread of the threadgroup must reach the same barrier; memory is coherent in the
// emulator anyway (one host thread), so the flags only document intent.
inline void threadgroup_barrier(mem_flags, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  emu_detail::wait(emu_detail::LaneState::at_barrier, file, line, {});
}
inline void simdgroup_barrier(mem_flags, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  emu_detail::simd_exchange<int>(&emu_detail::no_exchange, 0, 0, file, line);
}

template <class T>
T simd_sum(T value, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return emu_detail::simd_exchange<T>(&emu_detail::reduce<T, emu_detail::Add>, value, 0, file, line);
}
template <class T>
T simd_max(T value, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return emu_detail::simd_exchange<T>(&emu_detail::reduce<T, emu_detail::Max>, value, 0, file, line);
}
template <class T>
T simd_min(T value, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return emu_detail::simd_exchange<T>(&emu_detail::reduce<T, emu_detail::Min>, value, 0, file, line);
}
template <class T>
T simd_shuffle(T value, ushort lane, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return emu_detail::simd_exchange<T>(&emu_detail::shuffle<T, emu_detail::Shuffle::index>, value, lane, file, line);
}
template <class T>
T simd_broadcast(T value, ushort lane, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return simd_shuffle(value, lane, file, line);
}
template <class T>
T simd_shuffle_down(T value, ushort delta, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return emu_detail::simd_exchange<T>(&emu_detail::shuffle<T, emu_detail::Shuffle::down>, value, delta, file, line);
}
template <class T>
T simd_shuffle_up(T value, ushort delta, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return emu_detail::simd_exchange<T>(&emu_detail::shuffle<T, emu_detail::Shuffle::up>, value, delta, file, line);
}
template <class T>
T simd_shuffle_xor(T value, ushort mask, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  return emu_detail::simd_exchange<T>(&emu_detail::shuffle<T, emu_detail::Shuffle::xor_mask>, value, mask, file, line);
}

}  // namespace metal
