// Tile kernels: the dot products of a few weight rows with a few activation rows in one
// pass over the row data, for matrix-vector (decode) and matrix-matrix (prompt) matmuls.
// Loading each weight block once for several tokens, and each activation block once for
// several rows, turns a loop of dot products into matrix-matrix work; the independent
// accumulators also hide the latency of the multiply-add chain in decode.
//
// Every result is bit-identical to the type's vec_dot (quant.h): each (row, token) output
// keeps its own accumulator and performs the same integer lanes and the same float
// operations in the same order; only the interleaving across outputs changes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/ggml_type.h"

namespace alloy::cpu {

// One tile: out[t * out_stride + r] = vec_dot(w + r * w_stride, a + t * a_stride, n) for
// r < n_rows, t < n_tokens. Invariant (checked by the caller, CpuBackend::matmul): the rows
// lie inside the weight tensor and the activation buffer, n is a multiple of the block
// size, and 1 <= n_rows <= TileKernel::max_rows, 1 <= n_tokens <= TileKernel::max_tokens.
struct TileArgs {
  const uint8_t* w;
  size_t w_stride;
  const uint8_t* a;
  size_t a_stride;
  int64_t n;
  float* out;
  size_t out_stride;
};
using TileFn = void (*)(const TileArgs& args, int n_rows, int n_tokens);

struct TileKernel {
  TileFn fn = nullptr;  // null: this type has no tile kernel at this SIMD level
  int max_rows = 0;
  int max_tokens = 0;
};

// The tile kernel of the active SIMD level (cpu_features.h) for weights of `type`; fn is
// null when the type has none (the matmul then takes one vec_dot per output).
TileKernel tile_kernel(GgmlType type);

#if defined(__x86_64__) || defined(_M_X64)
namespace avx2 {
TileKernel tile_kernel(GgmlType type);
}
#endif

}  // namespace alloy::cpu
