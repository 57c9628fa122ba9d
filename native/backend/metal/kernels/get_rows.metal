// Embedding lookup (CPU reference: CpuBackend::get_rows, dequantize_row in
// backend/cpu/dequantize.cpp): out[i] = row ids[i] of the weight matrix as floats. F32 rows are
// copied, F16 rows converted exactly and Q8_0 rows dequantized as q * d (one float product, as
// the CPU does), so the results are the CPU's bits (Q8_0: n_cols a multiple of 32). The ids
// are validated by the caller (as for the CPU backend). A thread per element and id; threads
// past n_cols (the last threadgroup) do nothing. Grid: see kargs::GetRows.
#include "kernel_prelude.h"
#include "ggml_blocks.h"

kernel void kernel_get_rows_f32(
    constant kargs::GetRows & args [[buffer(0)]],
    device_ptr<const uchar> weights [[buffer(1)]],
    device_ptr<const int> ids [[buffer(2)]],
    device_ptr<float> out [[buffer(3)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]]) {
  const int j = int(tgpig.x) * ntg + tid;
  if (j >= args.n_cols) {
    return;
  }
  const uint i = tgpig.y;
  device_ptr<const float> row = (device_ptr<const float>)(weights + ulong(ids[i]) * args.row_bytes);
  out[i * args.out_stride + j] = row[j];
}

kernel void kernel_get_rows_f16(
    constant kargs::GetRows & args [[buffer(0)]],
    device_ptr<const uchar> weights [[buffer(1)]],
    device_ptr<const int> ids [[buffer(2)]],
    device_ptr<float> out [[buffer(3)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]]) {
  const int j = int(tgpig.x) * ntg + tid;
  if (j >= args.n_cols) {
    return;
  }
  const uint i = tgpig.y;
  device_ptr<const half> row = (device_ptr<const half>)(weights + ulong(ids[i]) * args.row_bytes);
  out[i * args.out_stride + j] = float(row[j]);
}

kernel void kernel_get_rows_q8_0(
    constant kargs::GetRows & args [[buffer(0)]],
    device_ptr<const uchar> weights [[buffer(1)]],
    device_ptr<const int> ids [[buffer(2)]],
    device_ptr<float> out [[buffer(3)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]]) {
  const int j = int(tgpig.x) * ntg + tid;
  if (j >= args.n_cols) {
    return;
  }
  const uint i = tgpig.y;
  device_ptr<const block_q8_0> row = (device_ptr<const block_q8_0>)(weights + ulong(ids[i]) * args.row_bytes);
  device_ptr<const block_q8_0> b = row + j / 32;
  out[i * args.out_stride + j] = float(b->qs[j % 32]) * float(b->d);
}
