// RMSNorm of the rows of x (CPU reference: rms_norm_row in backend/cpu/cpu_kernels.cpp):
//   y = x * (1 / sqrt(mean(x^2) + eps)) * weight
// One threadgroup per row; thread t squares and sums elements t, t + ntg, ...; the partial sums
// meet with simd_sum inside each SIMD group and through threadgroup memory across SIMD
// groups. The sum is a float, not the CPU's double (Apple GPUs have no double): the kernel
// tests bound the difference (kRmsNormRelTolerance in tests/test_metal_kernels.cpp).
// Any row length works (odd, smaller than the threadgroup); y may alias x.
// Grid: (n_rows, 1, 1) threadgroups of ntg <= kargs::kRmsNormMaxThreads threads;
// threadgroup memory 0: kargs::kRmsNormPartials floats.
#include "kernel_prelude.h"

kernel void kernel_rms_norm_f32(
    constant kargs::RmsNorm & args [[buffer(0)]],
    device_ptr<const float> x [[buffer(1)]],
    device_ptr<const float> weight [[buffer(2)]],
    device_ptr<float> y [[buffer(3)]],
    threadgroup_ptr<float> partials [[threadgroup(0)]],
    uint row [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]],
    ushort sgitg [[simdgroup_index_in_threadgroup]],
    ushort tiisg [[thread_index_in_simdgroup]]) {
  device_ptr<const float> xr = x + row * args.row_stride;
  device_ptr<float> yr = y + row * args.row_stride;

  float sum = 0.0f;
  for (int i = tid; i < args.n; i += ntg) {
    const float v = xr[i];
    sum += v * v;
  }
  sum = simd_sum(sum);
  if (ntg > 32) {
    // SIMD group 0 clears all 32 slots first: a threadgroup with fewer SIMD groups leaves the
    // rest at zero, so every lane of the final simd_sum reads a defined value.
    if (sgitg == 0) {
      partials[tiisg] = 0.0f;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    if (tiisg == 0) {
      partials[sgitg] = sum;
    }
    threadgroup_barrier(mem_flags::mem_threadgroup);
    sum = simd_sum(partials[tiisg]);
  }

  const float mean = sum / args.n;
  const float scale = 1.0f / sqrt(mean + args.eps);
  for (int i = tid; i < args.n; i += ntg) {
    // (x * scale) * weight, in the CPU's order; the weight buffer is not touched without one.
    const float scaled = xr[i] * scale;
    yr[i] = args.has_weight != 0 ? scaled * weight[i] : scaled;
  }
}
