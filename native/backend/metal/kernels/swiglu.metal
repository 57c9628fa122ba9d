// SwiGLU of the rows of gate and up (CPU reference: swiglu_row in backend/cpu/cpu_kernels.cpp):
//   out = silu(gate) * up, silu(x) = x / (1 + exp(-x)),
// in the CPU's order of operations. The exponential is MSL's precise::exp (at most 4 ulp,
// where fast::exp loses accuracy with |x|) against the CPU's ggml / libm expf; the tests bound
// the difference (kSwigluRelTolerance in tests/test_metal_ops.cpp). out may alias gate or up.
// A thread per element; threads past n (the last threadgroup) do nothing. Grid: see kargs::Swiglu.
#include "kernel_prelude.h"


kernel void kernel_swiglu_f32(
    constant kargs::Swiglu & args [[buffer(0)]],
    device_ptr<const float> gate [[buffer(1)]],
    device_ptr<const float> up [[buffer(2)]],
    device_ptr<float> out [[buffer(3)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]]) {
  const int i = int(tgpig.x) * ntg + tid;
  if (i >= args.n) {
    return;
  }
  const uint r = tgpig.y;
  const float g = gate[r * args.gate_stride + i];
  const float silu = g / (1.0f + precise::exp(0.0f - g));
  out[r * args.out_stride + i] = silu * up[r * args.up_stride + i];
}

