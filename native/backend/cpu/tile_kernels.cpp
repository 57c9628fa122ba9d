#include "backend/cpu/tile_kernels.h"

#include "backend/cpu/cpu_features.h"

namespace alloy::cpu {

TileKernel tile_kernel(GgmlType type) {
  switch (active_simd_level()) {
#if defined(__x86_64__) || defined(_M_X64)
    // With AVX-512 VNNI, matrices of 16-row groups take the packed path (packed_matmul.h);
    // the AVX2 tiles serve the others.
    case SimdLevel::avx512_amx:
    case SimdLevel::avx512_vnni:
    case SimdLevel::avx2: return avx2::tile_kernel(type);
#else
    case SimdLevel::avx512_amx:
    case SimdLevel::avx512_vnni:
    case SimdLevel::avx2:
#endif
    case SimdLevel::scalar:
    case SimdLevel::neon_dotprod: return TileKernel{};
  }
  return TileKernel{};
}

}  // namespace alloy::cpu
