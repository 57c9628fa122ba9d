// Maps a tile's run-time size (rows x tokens) to the kernel instantiation for that size, so
// each size gets fixed-size accumulator arrays the compiler keeps in registers. Included by
// the per-instruction-set tile files; the templates live in an unnamed namespace so each file
// keeps its own copy built for its own instruction set.
#pragma once

#include "backend/cpu/tile_kernels.h"

namespace alloy::cpu {
namespace {  // NOLINT(build/namespaces): one copy per instruction-set file, on purpose

// Kernel::template run<R, T>(args) computes an R x T tile (1 <= R <= 4, 1 <= T <= 4).
template <typename Kernel, int R>
void tile_with_rows(const TileArgs& args, int n_tokens) {
  switch (n_tokens) {
    case 1: return Kernel::template run<R, 1>(args);
    case 2: return Kernel::template run<R, 2>(args);
    case 3: return Kernel::template run<R, 3>(args);
    default: return Kernel::template run<R, 4>(args);
  }
}

template <typename Kernel>
void tile(const TileArgs& args, int n_rows, int n_tokens) {
  switch (n_rows) {
    case 1: return tile_with_rows<Kernel, 1>(args, n_tokens);
    case 2: return tile_with_rows<Kernel, 2>(args, n_tokens);
    case 3: return tile_with_rows<Kernel, 3>(args, n_tokens);
    default: return tile_with_rows<Kernel, 4>(args, n_tokens);
  }
}

constexpr int kTileMaxRows = 4;
constexpr int kTileMaxTokens = 4;

template <typename Kernel>
TileKernel make_tile_kernel() {
  return TileKernel{&tile<Kernel>, kTileMaxRows, kTileMaxTokens};
}

}  // namespace
}  // namespace alloy::cpu
