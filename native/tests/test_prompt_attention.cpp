// CpuBackend::attention for prompts (several tokens per call) against the scalar emulation
// of llama.cpp's attention for one token: K.Q with the query rounded to F16 and the GEMM
// kernel's summation (float_dots.h), ggml_soft_max_ext, the probabilities rounded to F16 and
// the GEMM kernel again for each V channel over the positions rounded up to 64. Bit for bit
// (tolerance: none; NaN where the reference has NaN). With AVX-512 this runs
// prompt_attention.h's 16-token blocks, elsewhere (and for blocks with a NaN score) the
// per-token path.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_kernels.h"
#include "backend/cpu/float_dots.h"
#include "check.h"
#include "core/half.h"
#include "core/rng.h"

using namespace alloy;
using namespace alloy::cpu;

namespace {

constexpr int kMaxKv = 300;  // capacity 320 (kKvCapacityAlignment)
constexpr int kCapacity = 320;
constexpr int kHeadsKv = 2;

struct Case {
  int head_dim, group, n_tokens, pos0;
  int nan_key = -1;  // a key position whose first value is NaN (scores NaN from there on)
};

bool same(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0 || (std::isnan(a) && std::isnan(b)); }

std::vector<uint16_t> random_f16(size_t n, Rng& rng) {
  std::vector<uint16_t> out(n);
  for (uint16_t& h : out) h = float_to_f16_bits(rng.normal() * (rng.below(16) == 0 ? 40.0f : 1.0f));
  return out;
}

// One token's outputs for all heads, as llama.cpp's CPU build computes them for a batch of 2+.
std::vector<float> reference(const Case& c, const std::vector<uint16_t>& k, const std::vector<uint16_t>& v,
                             const float* q, int pos, float scale) {
  const int n_head = c.group * kHeadsKv, n_embd_kv = kHeadsKv * c.head_dim;
  const int n_visible = pos + 1, n_summed = (n_visible + kVecDotStep - 1) / kVecDotStep * kVecDotStep;
  std::vector<float> out(static_cast<size_t>(n_head) * c.head_dim), scores(n_visible);
  std::vector<uint16_t> q16(c.head_dim), p16(n_summed, 0);
  for (int h = 0; h < n_head; ++h) {
    const int kv_head = h / c.group;
    for (int d = 0; d < c.head_dim; ++d) q16[d] = float_to_f16_bits(q[h * c.head_dim + d]);
    for (int p = 0; p < n_visible; ++p) {
      const uint16_t* key = k.data() + static_cast<size_t>(p) * n_embd_kv + kv_head * c.head_dim;
      scores[p] = float_dot_scalar(FloatFormat::f16, reinterpret_cast<const uint8_t*>(key),
                                   reinterpret_cast<const uint8_t*>(q16.data()), c.head_dim, DotKernel::gemm);
    }
    softmax_row_reference(scores.data(), n_visible, scale, scores.data());
    for (int p = 0; p < n_visible; ++p) p16[p] = float_to_f16_bits(scores[p]);
    for (int d = 0; d < c.head_dim; ++d) {
      const uint16_t* channel = v.data() + static_cast<size_t>(kv_head * c.head_dim + d) * kCapacity;
      out[h * c.head_dim + d] = float_dot_scalar(FloatFormat::f16, reinterpret_cast<const uint8_t*>(channel),
                                                 reinterpret_cast<const uint8_t*>(p16.data()), n_summed, DotKernel::gemm);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("prompt attention equals llama.cpp's per-token computation bit for bit") {
  Rng rng(2026);
  CpuBackendConfig config;
  config.n_threads = 2;
  config.max_tokens = 40;
  config.max_kv = kMaxKv;
  config.max_heads = 7 * kHeadsKv;
  config.max_head_dim = 128;
  CpuBackend backend(config, {});
  // Blocks of 16 tokens whole and partial, first positions inside and across steps of 16 / 64.
  const Case cases[] = {{64, 7, 2, 0},  {64, 7, 16, 0},  {64, 7, 17, 0},  {64, 7, 40, 0},   {64, 7, 5, 61},
                        {64, 1, 33, 190}, {128, 2, 16, 240}, {128, 6, 23, 3}, {128, 1, 40, 259}, {16, 3, 9, 40},
                        {64, 7, 20, 10, 18}};  // NaN: the per-token path
  int mismatches = 0, compared = 0;
  for (const Case& c : cases) {
    const int n_head = c.group * kHeadsKv, n_embd_kv = kHeadsKv * c.head_dim;
    std::vector<uint16_t> k = random_f16(static_cast<size_t>(kCapacity) * n_embd_kv, rng);
    if (c.nan_key >= 0) k[static_cast<size_t>(c.nan_key) * n_embd_kv] = 0x7E00;
    const std::vector<uint16_t> v = random_f16(static_cast<size_t>(n_embd_kv) * kCapacity, rng);
    std::vector<float> q(static_cast<size_t>(c.n_tokens) * n_head * c.head_dim);
    for (float& x : q) x = rng.normal() * 2.0f;
    KvLayerView kv;
    kv.type = KvType::f16;
    kv.k = const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(k.data()));
    kv.v = const_cast<uint8_t*>(reinterpret_cast<const uint8_t*>(v.data()));
    kv.capacity = kCapacity;
    kv.n_embd_kv = n_embd_kv;
    AttentionShape shape;
    shape.n_head = n_head;
    shape.n_head_kv = kHeadsKv;
    shape.head_dim = c.head_dim;
    shape.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    std::vector<float> out(q.size());
    backend.attention(kv, q.data(), c.n_tokens, c.pos0, shape, out.data());
    const size_t row = static_cast<size_t>(n_head) * c.head_dim;
    int case_mismatches = 0;
    for (int t = 0; t < c.n_tokens; ++t) {
      const std::vector<float> want = reference(c, k, v, q.data() + t * row, c.pos0 + t, shape.scale);
      for (size_t i = 0; i < row; ++i, ++compared) case_mismatches += !same(want[i], out[t * row + i]);
    }
    if (case_mismatches > 0) {
      std::printf("head_dim %d, group %d, %d tokens from %d: %d differ\n", c.head_dim, c.group, c.n_tokens, c.pos0,
                  case_mismatches);
    }
    mismatches += case_mismatches;
  }
  std::printf("%d of %d outputs differ\n", mismatches, compared);
  CHECK_EQ(mismatches, 0);
}
