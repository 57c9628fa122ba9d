// Rotary position embedding in place (CPU reference: rope_cache / rope_head in
// backend/cpu/cpu_kernels.cpp): for each head of each token row, pair i of the first n_rot
// values turns by theta_i = freq_scale * position * theta_scale^i, its cos and sin scaled by
// attn_factor. Normal mode pairs (x[2i], x[2i + 1]), NEOX mode (x[i], x[i + n_rot / 2]);
// values past n_rot stay as they are.
//
// Numerics: theta_i is accumulated as the CPU does (i float multiplications by theta_scale,
// which the host computes with the CPU's formula), so the angles are bit-identical; the
// rotation is the CPU's fma(x0, c, -(x1 * s)) / fma(x0, s, x1 * c). Only cos and sin differ:
// MSL's precise:: versions (at most 4 ulp, also for the large angles of late positions, where
// the fast:: ones lose all accuracy) against the CPU's libm. The tests bound the difference
// (kRopeUlps in tests/test_metal_ops.cpp).
// A thread per rotated pair; threads past the last pair (the last threadgroup) do nothing.
// Grid: see kargs::Rope.
#include "kernel_prelude.h"


kernel void kernel_rope_f32(
    constant kargs::Rope & args [[buffer(0)]],
    device_ptr<const int> positions [[buffer(1)]],
    device_ptr<float> x [[buffer(2)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]]) {
  const int pairs = args.n_rot / 2;
  const int index = int(tgpig.x) * ntg + tid;
  if (index >= args.n_heads * pairs) {
    return;
  }
  const int head = index / pairs;
  const int i = index % pairs;
  const uint t = tgpig.y;

  float theta = float(positions[t]);
  for (int j = 0; j < i; ++j) {
    theta *= args.theta_scale;
  }
  const float angle = args.freq_scale * theta;
  const float c = precise::cos(angle) * args.attn_factor;
  const float s = precise::sin(angle) * args.attn_factor;

  device_ptr<float> xh = x + t * args.row_stride + head * args.head_dim;
  const int i0 = args.mode == kargs::kRopeModeNeox ? i : 2 * i;
  const int i1 = args.mode == kargs::kRopeModeNeox ? i + pairs : 2 * i + 1;
  const float x0 = xh[i0];
  const float x1 = xh[i1];
  xh[i0] = fma(x0, c, -(x1 * s));
  xh[i1] = fma(x0, s, x1 * c);
}

