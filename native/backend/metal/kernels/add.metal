// Element-wise additions for the host's unfused path (CPU reference: CpuBackend::add and
// CpuBackend::add_bias): one float addition per element, so the results are the CPU's bits.
// A thread per element; threads past the end (the last threadgroup) do nothing.
// Grids: see kargs::Add and kargs::AddBias.
#include "kernel_prelude.h"

// y[i] += x[i] for i < n.
kernel void kernel_add_f32(
    constant kargs::Add & args [[buffer(0)]],
    device_ptr<const float> x [[buffer(1)]],
    device_ptr<float> y [[buffer(2)]],
    uint gid [[thread_position_in_grid]]) {
  if (gid >= args.n) {
    return;
  }
  y[gid] += x[gid];
}

// y[r][i] += bias[i] for i < n, r < the grid's rows.
kernel void kernel_add_bias_f32(
    constant kargs::AddBias & args [[buffer(0)]],
    device_ptr<const float> bias [[buffer(1)]],
    device_ptr<float> y [[buffer(2)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]]) {
  const int i = int(tgpig.x) * ntg + tid;
  if (i >= args.n) {
    return;
  }
  y[tgpig.y * args.row_stride + i] += bias[i];
}
