// Rotary position embedding in place (per-element logic and numerics: rope_common.h): each
// head of each token row, token t at position positions[t].
// A thread per rotated pair; threads past the last pair (the last threadgroup) do nothing.
// Grid: see kargs::Rope.
#include "rope_common.h"

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
  const uint t = tgpig.y;
  device_ptr<float> head = x + t * args.row_stride + (index / pairs) * args.head_dim;
  rope_pair_in_place(args, head, positions[t], index % pairs);
}
