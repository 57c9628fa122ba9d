// The arguments of the Metal kernels, shared by the host (C++ / Objective-C++, which fills
// them and binds them with setBytes:length:atIndex:) and the kernels (MSL, which read them from
// the `constant` address space), and by the emulator on Linux. Plain data only: fixed-width
// integers and float, 64-bit fields at 8-byte offsets, no pointers, so both compilers lay
// them out identically; the static_asserts pin every size and offset.
//
// Each kernel's tuning constants live here too, because the host's grid sizes must agree with
// how the kernel splits its work.
#pragma once

#if !defined(__METAL_VERSION__)
#include <cstddef>
#include <cstdint>
#endif

namespace kargs {

// rms_norm.metal: y = x * (1 / sqrt(mean(x^2) + eps)) * weight, one threadgroup per row.
struct RmsNorm {
  int32_t n;           // floats per row
  int32_t has_weight;  // 0: the weight buffer is not read (all ones)
  float eps;
  int32_t reserved;    // keeps row_stride 8-aligned in both languages; write 0
  uint64_t row_stride;  // floats from one row to the next, in x and in y
};

// Threads per RMSNorm threadgroup at most; the kernel's threadgroup memory holds one partial
// sum per SIMD group (32 floats, the most a threadgroup of 1024 can have).
enum : int32_t { kRmsNormMaxThreads = 1024, kRmsNormPartials = 32 };

// matvec_*.metal: y[t][r] = dot(weight row r, x[t]) for the rows of a quantized weight matrix
// (ggml layout: row r is row_bytes bytes of blocks) and the F32 activation rows of the tokens.
struct MatVec {
  int32_t n_cols;      // elements per weight row (the dot-product length)
  int32_t n_rows;      // weight rows = outputs per token
  uint64_t row_bytes;  // bytes from one weight row to the next
  uint64_t x_stride;   // floats from one token's activation row to the next
  uint64_t y_stride;   // floats from one token's output row to the next
};

// matvec_q8_0.metal: each SIMD group computes kMatVecQ8_0Rows consecutive rows; a threadgroup
// holds kMatVecQ8_0Simdgroups SIMD groups. Grid: (ceil(n_rows / (rows * simdgroups)),
// n_tokens, 1) threadgroups of 32 * kMatVecQ8_0Simdgroups threads.
enum : int32_t { kMatVecQ8_0Rows = 4, kMatVecQ8_0Simdgroups = 2 };

static_assert(sizeof(RmsNorm) == 24, "kargs::RmsNorm layout");
static_assert(sizeof(MatVec) == 32, "kargs::MatVec layout");

#if !defined(__METAL_VERSION__)
static_assert(offsetof(RmsNorm, n) == 0 && offsetof(RmsNorm, has_weight) == 4 && offsetof(RmsNorm, eps) == 8 &&
                  offsetof(RmsNorm, reserved) == 12 && offsetof(RmsNorm, row_stride) == 16,
              "kargs::RmsNorm field offsets");
static_assert(offsetof(MatVec, n_cols) == 0 && offsetof(MatVec, n_rows) == 4 && offsetof(MatVec, row_bytes) == 8 &&
                  offsetof(MatVec, x_stride) == 16 && offsetof(MatVec, y_stride) == 24,
              "kargs::MatVec field offsets");
#endif

}  // namespace kargs
