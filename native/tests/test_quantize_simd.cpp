// The SIMD activation quantization (Q8_0) against the scalar emulation of ggml's AVX2 code,
// byte for byte (tolerance: none), over rows with outliers, zero blocks, tiny and huge values,
// infinities and NaN.
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/quant.h"
#include "backend/cpu/quantize_activations.h"
#include "check.h"
#include "core/rng.h"

using namespace alloy;
using namespace alloy::cpu;

#if defined(__x86_64__)
TEST_CASE("quantize_row_q8_0 with AVX2 writes the scalar emulation's bytes") {
  if (!has_avx2(host_simd_level())) {
    std::printf("skipped on this CPU: no AVX2\n");
    return;
  }
  Rng rng(12);
  int rows = 0, differing = 0;
  for (int trial = 0; trial < 500; ++trial) {
    const int64_t n = 32 * (1 + static_cast<int64_t>(rng.below(40)));
    std::vector<float> x(static_cast<size_t>(n));
    const float scale = trial % 5 == 0 ? 1e-30f : (trial % 5 == 1 ? 1e30f : 3.0f);
    for (float& v : x) v = scale * rng.normal();
    if (trial % 7 == 0) std::fill(x.begin(), x.begin() + 32, 0.0f);  // an all-zero block
    if (trial % 11 == 0) x[static_cast<size_t>(rng.below(static_cast<uint64_t>(n)))] = std::numeric_limits<float>::infinity();
    if (trial % 13 == 0) x[static_cast<size_t>(rng.below(static_cast<uint64_t>(n)))] = std::numeric_limits<float>::quiet_NaN();
    std::vector<uint8_t> fast(activation_row_bytes(ActType::q8_0, n)), reference(fast.size());
    avx2::quantize_row_q8_0(x.data(), n, fast.data());
    quantize_row_q8_0_reference(x.data(), n, reference.data());
    if (fast != reference) ++differing;
    ++rows;
  }
  std::printf("compared %d rows\n", rows);
  CHECK_EQ(differing, 0);
}
#endif

TEST_CASE("quantize_row_q8_0 of the active level writes the reference bytes") {
  Rng rng(13);
  std::vector<float> x(32 * 28);
  for (float& v : x) v = 2.0f * rng.normal();
  std::vector<uint8_t> active(activation_row_bytes(ActType::q8_0, 32 * 28)), reference(active.size());
  quantize_row_q8_0(x.data(), 32 * 28, active.data());
  quantize_row_q8_0_reference(x.data(), 32 * 28, reference.data());
  CHECK(active == reference);
}
