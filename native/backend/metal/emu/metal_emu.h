// The Metal emulator: compiles .metal kernels unchanged as C++17 and runs their dispatches on
// the CPU, so that the Metal backend's kernels are tested on Linux against the CPU backend.
//
// How a kernel source compiles as C++ (the .metal file stays valid MSL):
//  * types: metal_types.h (uint, ushort, half, float4, ...); functions: below (sqrt, rsqrt,
//    fma, max, ...), simd_ops.h (simd_sum, simd_shuffle_down, threadgroup_barrier, ...) and
//    simdgroup_matrix.h (simdgroup_float8x8, simdgroup_load, simdgroup_multiply_accumulate, ...);
//  * buffers and threadgroup memory are declared through the aliases device_ptr<T> and
//    threadgroup_ptr<T> (kernels/kernel_prelude.h: `device T *` / `threadgroup T *` in MSL,
//    the bounds-checked Ptr<T> of buffer_view.h here), so every access is checked;
//  * the address-space keywords and `kernel` are macros while a .metal file is included
//    between kernel_begin.h and kernel_end.h: `constant` is `const`, `thread` and `kernel`
//    vanish, and `device` / `threadgroup` expand to a name that does not compile, so an
//    unchecked raw pointer cannot slip in. Attributes ([[buffer(n)]], [[thread_index_in_
//    simdgroup]], ...) are ignored by the C++ compiler (-Wattributes is silenced there).
//
// How a kernel runs (dispatch.h): the test (later the host's dispatch plan) supplies a body
// that calls the kernel function with its buffers and with the lane's attribute values from
// metal_emu::Lane, in the kernel's parameter order - the same binding the host encodes with
// setBuffer:atIndex:. Each threadgroup runs as cooperatively scheduled lanes (fiber.h) in
// SIMD groups of 32; barriers and SIMD operations are real rendezvous; out-of-bounds
// accesses, partial or divergent barriers end the dispatch with an error in its report.
//
// Usage (at global scope, before any kernel source):
//   #include "backend/metal/emu/metal_emu.h"
//   #include "backend/metal/kernels/kernel_args.h"
//   namespace my_kernels {
//   #include "backend/metal/emu/kernel_begin.h"
//   #include "backend/metal/kernels/rms_norm.metal"
//   #include "backend/metal/emu/kernel_end.h"
//   }
#pragma once
#define ALLOY_METAL_EMU_H 1

#include <cmath>
#include <cstdint>

#include "backend/metal/emu/buffer_view.h"
#include "backend/metal/emu/dispatch.h"
#include "backend/metal/emu/metal_types.h"
#include "backend/metal/emu/simd_ops.h"
#include "backend/metal/emu/simdgroup_matrix.h"

namespace alloy::metal_emu {
template <class T>
using device_ptr = Ptr<T>;
template <class T>
using threadgroup_ptr = Ptr<T>;
}  // namespace alloy::metal_emu

// MSL's math functions for float (IEEE, correctly rounded where C++'s are: the GPU's
// fast-math versions may differ by a few ulp, which the kernel tests' tolerances cover).
namespace metal {

using std::ceil;
using std::cos;
using std::exp;
using std::exp2;
using std::fabs;
using std::floor;
using std::fma;
using std::fmax;
using std::fmin;
using std::log;
using std::pow;
using std::sin;
using std::sqrt;
using std::tanh;

inline float rsqrt(float x) { return 1.0f / std::sqrt(x); }
inline float abs(float x) { return std::fabs(x); }
inline int abs(int x) { return x < 0 ? -x : x; }
inline float max(float a, float b) { return std::fmax(a, b); }
inline float min(float a, float b) { return std::fmin(a, b); }
inline int max(int a, int b) { return a < b ? b : a; }
inline int min(int a, int b) { return b < a ? b : a; }
inline uint max(uint a, uint b) { return a < b ? b : a; }
inline uint min(uint a, uint b) { return b < a ? b : a; }
inline float clamp(float x, float lo, float hi) { return std::fmin(std::fmax(x, lo), hi); }
inline int clamp(int x, int lo, int hi) { return min(max(x, lo), hi); }

// MSL's precise:: versions (IEEE-accurate on the GPU, whatever the fast-math setting): here
// the same functions as above.
namespace precise {
using std::cos;
using std::exp;
using std::sin;
}  // namespace precise

}  // namespace metal
