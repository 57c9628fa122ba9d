// Embedding lookup (CPU reference: CpuBackend::get_rows, dequantize_row in
// backend/cpu/dequantize.cpp): out[i] = row ids[i] of the weight matrix as floats, for every
// weight type of the matvec kernels: kernel_get_rows_<type> (type as kernel_mv_<type>_*).
// A row is decoded by its type's dequantization policy (dequant_*.h, the matvec kernels' own),
// which does the CPU's float operations in the CPU's order, so the results are the CPU's bits.
// n_cols as the policy requires (any for F32 / F16 / BF16, a multiple of 32 for Q4_0 .. Q8_0,
// of 256 for the K-quants). The ids are validated by the caller (as for the CPU backend).
// Grid: see kargs::GetRows; elements past n_cols are neither read nor written.
#include "kernel_prelude.h"
#include "dequant_float.h"
#include "dequant_k_quants.h"
#include "dequant_legacy.h"

template <typename Q>
kernel void kernel_get_rows(
    constant kargs::GetRows & args [[buffer(0)]],
    device_ptr<const uchar> weights [[buffer(1)]],
    device_ptr<const int> ids [[buffer(2)]],
    device_ptr<float> out [[buffer(3)]],
    uint3 tgpig [[threadgroup_position_in_grid]],
    ushort tid [[thread_index_in_threadgroup]],
    ushort ntg [[threads_per_threadgroup]]) {
  const uint i = tgpig.y;
  device_ptr<const uchar> row = weights + ulong(ids[i]) * args.row_bytes;
  device_ptr<float> dst = out + ulong(i) * args.out_stride;
  const int n_chunks = (args.n_cols + Q::kChunk - 1) / Q::kChunk;
  for (int chunk = tid; chunk < n_chunks; chunk += ntg) {
    float w[Q::kChunk];
    Q::dequantize(row, chunk, args.n_cols, w);
    for (short k = 0; k < Q::kChunk; ++k) {
      const int e = chunk * Q::kChunk + k;
      if (e < args.n_cols) {
        dst[e] = w[k];
      }
    }
  }
}

// One [[host_name]] per type, as matvec_template.h's ALLOY_MV_KERNELS does it.
typedef decltype(kernel_get_rows<DequantF32>) kernel_get_rows_fn;
#define ALLOY_GET_ROWS_STRING(s) #s
#define ALLOY_GET_ROWS_KERNEL(Q, TYPE) \
  template [[host_name(ALLOY_GET_ROWS_STRING(kernel_get_rows_##TYPE))]] kernel kernel_get_rows_fn kernel_get_rows<Q>;
ALLOY_GET_ROWS_KERNEL(DequantF32, f32)
ALLOY_GET_ROWS_KERNEL(DequantF16, f16)
ALLOY_GET_ROWS_KERNEL(DequantBF16, bf16)
ALLOY_GET_ROWS_KERNEL(DequantQ4_0, q4_0)
ALLOY_GET_ROWS_KERNEL(DequantQ4_1, q4_1)
ALLOY_GET_ROWS_KERNEL(DequantQ5_0, q5_0)
ALLOY_GET_ROWS_KERNEL(DequantQ5_1, q5_1)
ALLOY_GET_ROWS_KERNEL(DequantQ8_0, q8_0)
ALLOY_GET_ROWS_KERNEL(DequantQ2_K, q2_K)
ALLOY_GET_ROWS_KERNEL(DequantQ3_K, q3_K)
ALLOY_GET_ROWS_KERNEL(DequantQ4_K, q4_K)
ALLOY_GET_ROWS_KERNEL(DequantQ5_K, q5_K)
ALLOY_GET_ROWS_KERNEL(DequantQ6_K, q6_K)
