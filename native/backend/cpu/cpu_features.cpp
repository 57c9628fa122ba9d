#include "backend/cpu/cpu_features.h"

#include <cstdlib>

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "backend/cpu/vec_dot.h"

namespace alloy::cpu {

namespace {

// Levels in increasing order of preference on their architecture; a level is "lower" than
// another when it comes earlier here.
int rank(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar: return 0;
    case SimdLevel::avx2: return 1;
    case SimdLevel::avx512_vnni: return 2;
    case SimdLevel::avx512_amx: return 3;
    case SimdLevel::neon_dotprod: return 1;
  }
  return 0;
}

// Linux hands out the AMX tile state (8 KiB per thread) only to processes that ask for it;
// the grant covers every thread of the process. Other systems: no AMX kernels.
bool os_grants_amx() {
#if defined(__linux__) && defined(__x86_64__)
  constexpr long kArchReqXcompPerm = 0x1023;
  constexpr long kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}

SimdLevel detect() {
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0).
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512_vnni = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
#if defined(ALLOY_CPU_HAS_AMX_KERNELS)
  if (avx512_vnni && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-int8") && os_grants_amx()) {
    return SimdLevel::avx512_amx;
  }
#endif
  if (avx512_vnni) return SimdLevel::avx512_vnni;
  if (avx2) return SimdLevel::avx2;
  return SimdLevel::scalar;
#elif defined(ALLOY_CPU_HAS_NEON_KERNELS)
  return SimdLevel::neon_dotprod;  // the build targets the dot-product extension
#else
  return SimdLevel::scalar;
#endif
}

}  // namespace

std::string_view simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::scalar: return "scalar";
    case SimdLevel::avx2: return "avx2";
    case SimdLevel::avx512_vnni: return "avx512_vnni";
    case SimdLevel::avx512_amx: return "avx512_amx";
    case SimdLevel::neon_dotprod: return "neon_dotprod";
  }
  return "scalar";
}

bool has_avx2(SimdLevel level) { return has_avx512_vnni(level) || level == SimdLevel::avx2; }
bool has_avx512_vnni(SimdLevel level) { return level == SimdLevel::avx512_vnni || has_amx(level); }
bool has_amx(SimdLevel level) { return level == SimdLevel::avx512_amx; }

SimdLevel host_simd_level() {
  static const SimdLevel level = detect();
  return level;
}

SimdLevel active_simd_level() {
  static const SimdLevel level = [] {
    const SimdLevel host = host_simd_level();
    const char* wanted = std::getenv("ALLOY_SIMD");
    if (wanted == nullptr) return host;
    for (SimdLevel candidate : {SimdLevel::scalar, SimdLevel::avx2, SimdLevel::avx512_vnni, SimdLevel::avx512_amx,
                                SimdLevel::neon_dotprod}) {
      if (simd_level_name(candidate) == wanted && rank(candidate) <= rank(host) &&
          (candidate == SimdLevel::scalar || (candidate == SimdLevel::neon_dotprod) == (host == SimdLevel::neon_dotprod))) {
        return candidate;
      }
    }
    return host;
  }();
  return level;
}

std::vector<std::string_view> cpu_flags() {
  std::vector<std::string_view> flags;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) flags.push_back("avx2");
  if (__builtin_cpu_supports("fma")) flags.push_back("fma");
  if (__builtin_cpu_supports("f16c")) flags.push_back("f16c");
  if (__builtin_cpu_supports("avx512f")) flags.push_back("avx512f");
  if (__builtin_cpu_supports("avx512bw")) flags.push_back("avx512bw");
  if (__builtin_cpu_supports("avx512vl")) flags.push_back("avx512vl");
  if (__builtin_cpu_supports("avx512vnni")) flags.push_back("avx512vnni");
  if (__builtin_cpu_supports("amx-int8")) flags.push_back("amx-int8");
#elif defined(__aarch64__)
  flags.push_back("neon");
#if defined(__ARM_FEATURE_DOTPROD)
  flags.push_back("dotprod");
#endif
#endif
  return flags;
}

}  // namespace alloy::cpu
