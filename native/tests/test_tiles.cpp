// Tile kernels (backend/cpu/tile_kernels.h) against the scalar reference vec_dot, bit for
// bit (tolerance: none, each output performs the reference's operations in its order), for
// every tile size, every weight type that has a tile kernel, and every SIMD level this CPU
// runs; and the runtime SIMD selection.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/quant.h"
#include "backend/cpu/tile_kernels.h"
#include "backend/cpu/vec_dot.h"
#include "check.h"
#include "random_rows.h"

using namespace alloy;
using namespace alloy::cpu;
using alloy_test::quantized;
using alloy_test::random_activations;
using alloy_test::random_weight_row;

namespace {

struct Reference {
  GgmlType type;
  DotKernel dot;
};
const Reference kTiled[] = {
    {GgmlType::Q8_0, scalar::dot_q8_0_q8_0}, {GgmlType::Q4_0, scalar::dot_q4_0_q8_0},
    {GgmlType::Q5_0, scalar::dot_q5_0_q8_0}, {GgmlType::Q4_K, scalar::dot_q4_k_q8_k},
    {GgmlType::Q5_K, scalar::dot_q5_k_q8_k}, {GgmlType::Q6_K, scalar::dot_q6_k_q8_k},
};

struct Level {
  const char* name;
  bool runs_here;
  TileKernel (*kernel)(GgmlType);
};

std::vector<Level> levels() {
  std::vector<Level> out;
#if defined(__x86_64__)
  const SimdLevel host = host_simd_level();
  out.push_back({"avx2", has_avx2(host), avx2::tile_kernel});
#endif
  return out;
}

// Checks every output of one tile of n_rows x n_tokens with a row length of n elements.
int check_tile(const Level& level, const Reference& ref, int n_rows, int n_tokens, int64_t n, Rng& rng) {
  const ActType act = activation_type_for(ref.type);
  const size_t w_stride = *ggml_row_bytes(ref.type, static_cast<uint64_t>(n));
  const size_t a_stride = activation_row_bytes(act, n);
  std::vector<uint8_t> w, a;
  for (int r = 0; r < n_rows; ++r) {
    const std::vector<uint8_t> row = random_weight_row(ref.type, n, rng);
    w.insert(w.end(), row.begin(), row.end());
  }
  for (int t = 0; t < n_tokens; ++t) {
    const std::vector<uint8_t> row = quantized(act, random_activations(rng, n));
    a.insert(a.end(), row.begin(), row.end());
  }
  const size_t out_stride = static_cast<size_t>(n_rows) + 3;  // a wider output matrix
  std::vector<float> out(out_stride * static_cast<size_t>(n_tokens), -1.0f);
  const TileKernel kernel = level.kernel(ref.type);
  kernel.fn(TileArgs{w.data(), w_stride, a.data(), a_stride, n, out.data(), out_stride}, n_rows, n_tokens);
  int mismatches = 0;
  for (int r = 0; r < n_rows; ++r) {
    for (int t = 0; t < n_tokens; ++t) {
      const float expected = ref.dot(w.data() + r * w_stride, a.data() + t * a_stride, n);
      const float got = out[static_cast<size_t>(t) * out_stride + r];
      if (std::memcmp(&expected, &got, sizeof got) != 0) ++mismatches;
    }
  }
  // Outputs outside the tile are untouched.
  for (size_t t = 0; t < static_cast<size_t>(n_tokens); ++t) {
    for (size_t r = static_cast<size_t>(n_rows); r < out_stride; ++r) CHECK(out[t * out_stride + r] == -1.0f);
  }
  return mismatches;
}

}  // namespace

TEST_CASE("tile kernels equal the scalar vec_dot bit for bit at every tile size") {
  Rng rng(2026);
  int tiles_checked = 0;
  for (const Level& level : levels()) {
    if (!level.runs_here) continue;
    for (const Reference& ref : kTiled) {
      const TileKernel kernel = level.kernel(ref.type);
      CHECK(kernel.fn != nullptr);
      if (kernel.fn == nullptr) continue;
      for (int rows = 1; rows <= kernel.max_rows; ++rows) {
        for (int tokens = 1; tokens <= kernel.max_tokens; ++tokens) {
          const bool k_quant = activation_type_for(ref.type) == ActType::q8_k;
          for (int64_t n : k_quant ? std::vector<int64_t>{256, 768, 4864} : std::vector<int64_t>{32, 96, 896, 4864}) {
            const int bad = check_tile(level, ref, rows, tokens, n, rng);
            if (bad != 0) {
              alloy_test::report_failure(__FILE__, __LINE__, std::string(level.name) + " " + std::string(ggml_type_name(ref.type)) + " " +
                                                                 std::to_string(rows) + "x" + std::to_string(tokens) + " n=" +
                                                                 std::to_string(n) + ": " + std::to_string(bad) + " outputs differ");
            }
            ++tiles_checked;
          }
        }
      }
    }
  }
  std::printf("checked %d tiles\n", tiles_checked);
#if defined(__x86_64__)
  CHECK(tiles_checked > 0);  // every x86-64 machine this engine targets has AVX2
#endif
}

TEST_CASE("the active SIMD level is the host's unless ALLOY_SIMD lowers it") {
  const char* wanted = std::getenv("ALLOY_SIMD");
  if (wanted == nullptr) CHECK(active_simd_level() == host_simd_level());
  CHECK(simd_level_name(active_simd_level()) == (wanted ? std::string_view(wanted) : simd_level_name(host_simd_level())) ||
        wanted != nullptr);
  // A tiled type has a tile kernel at every x86 SIMD level, none at the scalar level.
  const TileKernel active = tile_kernel(GgmlType::Q8_0);
  CHECK((active.fn != nullptr) == (has_avx2(active_simd_level())));
}
