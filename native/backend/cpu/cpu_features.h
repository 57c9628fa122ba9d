// Which SIMD kernels the CPU backend runs: detected once from the CPU (and the kernels this
// build contains), optionally lowered with the environment variable ALLOY_SIMD so tests and
// benchmarks can run every lower level on one machine.
#pragma once

#include <string_view>
#include <vector>

namespace alloy::cpu {

enum class SimdLevel {
  scalar,        // the portable reference kernels
  avx2,          // x86-64 AVX2 + FMA + F16C
  avx512_vnni,   // AVX2 kernels plus AVX-512 (F, BW, VL) VNNI packed-weight kernels
  avx512_amx,    // avx512_vnni plus AMX-INT8 tiles for Q8_0 prompt matmuls (OS permission granted)
  neon_dotprod,  // aarch64 NEON with the dot-product extension
};

// Whether a level includes the AVX2 kernels / the AVX-512 VNNI kernels / the AMX kernels.
bool has_avx2(SimdLevel level);
bool has_avx512_vnni(SimdLevel level);
bool has_amx(SimdLevel level);

std::string_view simd_level_name(SimdLevel level);

// The best level this build has kernels for and this CPU (and OS) can run.
SimdLevel host_simd_level();

// host_simd_level(), or the level ALLOY_SIMD names when that is lower (an unknown or higher
// name is ignored). Read once, at the first call.
SimdLevel active_simd_level();

// The instruction-set extensions this CPU reports that the kernels care about (diagnostics).
std::vector<std::string_view> cpu_flags();

}  // namespace alloy::cpu
