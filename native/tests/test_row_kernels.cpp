// The SIMD row kernels (softmax, SwiGLU) against their scalar emulation of ggml, bit for bit
// (tolerance: none; the lanes run the same operations), including rows with a partial last
// group, extreme inputs (exp overflow and underflow) and NaN.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/cpu_kernels.h"
#include "check.h"
#include "core/rng.h"

using namespace alloy;
using namespace alloy::cpu;

namespace {

// Bit-identical values, a NaN matching any NaN.
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i]) && std::isnan(b[i])) continue;
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0) return false;
  }
  return true;
}

std::vector<float> random_row(Rng& rng, int n, float spread) {
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = spread * rng.normal();
  return x;
}

}  // namespace

#if defined(__x86_64__)
namespace {

using SoftmaxFn = void (*)(const float* scores, int n, float scale, float* probs);
using SwigluPartFn = int (*)(const float* gate, const float* up, int n, float* out);
using RopePartFn = int (*)(float* x, const float* cache, const RopeParams& params);

// 400 rows of 1..300 values through a SIMD softmax and SwiGLU vector part, bit for bit against
// the scalar emulation; spreads whose exp overflows, lands in the subnormals (|x| 87..104) or
// stays normal, and NaN / infinite inputs.
void check_softmax_swiglu(Rng& rng, SoftmaxFn softmax, SwigluPartFn swiglu_part) {
  for (int trial = 0; trial < 400; ++trial) {
    const int n = 1 + static_cast<int>(rng.below(300));
    const float spread = trial % 4 == 0 ? 200.0f : (trial % 4 == 1 ? 40.0f : 4.0f);
    std::vector<float> scores = random_row(rng, n, spread);
    if (trial % 9 == 0) scores[static_cast<size_t>(rng.below(static_cast<uint64_t>(n)))] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> probs_fast(static_cast<size_t>(n)), probs_reference(static_cast<size_t>(n));
    softmax(scores.data(), n, 0.125f, probs_fast.data());
    softmax_row_reference(scores.data(), n, 0.125f, probs_reference.data());
    CHECK(same_bits(probs_fast, probs_reference));
    std::vector<float> gate = random_row(rng, n, spread);
    if (trial % 7 == 0) gate[0] = std::numeric_limits<float>::quiet_NaN();
    if (trial % 11 == 0) gate[static_cast<size_t>(n - 1)] = trial % 2 == 0 ? INFINITY : -INFINITY;
    const std::vector<float> up = random_row(rng, n, 1.0f);
    std::vector<float> out_fast(static_cast<size_t>(n)), out_reference(static_cast<size_t>(n));
    const int done = swiglu_part(gate.data(), up.data(), n, out_fast.data());
    CHECK_EQ(done, n - n % 16);
    swiglu_row_reference(gate.data(), up.data(), n, out_reference.data());
    for (int i = done; i < n; ++i) out_fast[static_cast<size_t>(i)] = out_reference[static_cast<size_t>(i)];
    CHECK(same_bits(out_fast, out_reference));
  }
}

// A SIMD RoPE vector part (pairs `lanes` at a time) then the scalar form for the rest, against
// the scalar form for every pair: normal and NEOX, partial rotations, several positions.
void check_rope(Rng& rng, RopePartFn rope_part, int lanes) {
  for (RopeMode mode : {RopeMode::normal, RopeMode::neox}) {
    for (int n_rot : {2, 20, 32, 64, 96, 128}) {
      for (int32_t position : {0, 7, 1000, 32767}) {
        RopeParams params;
        params.n_rot = n_rot;
        params.mode = mode;
        params.freq_base = 1000000.0f;
        std::vector<float> cache(static_cast<size_t>(n_rot));
        rope_cache(position, params, cache.data());
        const std::vector<float> x = random_row(rng, 128, 3.0f);
        std::vector<float> fast = x, reference = x;
        const int pairs = rope_part(fast.data(), cache.data(), params);
        CHECK_EQ(pairs, n_rot / 2 - n_rot / 2 % lanes);
        rope_head_reference(fast.data(), cache.data(), params, pairs);
        rope_head_reference(reference.data(), cache.data(), params);
        CHECK(same_bits(fast, reference));
        if (position != 0) CHECK(!same_bits(fast, x));  // position 0 rotates by nothing
      }
    }
  }
}

}  // namespace

TEST_CASE("AVX-512 softmax, SwiGLU and RoPE equal the scalar emulation bit for bit") {
  if (!has_avx512_vnni(host_simd_level())) {
    std::printf("skipped on this CPU: no AVX-512 (these kernels are not used here either)\n");
    return;
  }
  Rng rng(31);
  check_softmax_swiglu(rng, avx512::softmax_row, avx512::swiglu_vector_part);
  check_rope(rng, avx512::rope_vector_part, 16);
}

TEST_CASE("AVX2 softmax, SwiGLU and RoPE equal the scalar emulation bit for bit") {
  if (!has_avx2(host_simd_level())) {
    std::printf("skipped on this CPU: no AVX2\n");
    return;
  }
  Rng rng(41);
  check_softmax_swiglu(rng, avx2::softmax_row, avx2::swiglu_vector_part);
  check_rope(rng, avx2::rope_vector_part, 8);
}
#endif

TEST_CASE("softmax_row sums to one and keeps the order of its inputs") {
  const std::vector<float> scores = {1.0f, 3.0f, 2.0f, -1.0f};
  std::vector<float> p(4);
  softmax_row(scores.data(), 4, 1.0f, p.data());
  CHECK(std::fabs(p[0] + p[1] + p[2] + p[3] - 1.0f) < 1e-6f);
  CHECK(p[1] > p[2] && p[2] > p[0] && p[0] > p[3]);
}
