// The packed-weight matmul (backend/cpu/repack.h, packed_matmul.h): the packed layout holds
// every quant where the kernel expects it, and the AVX-512 VNNI kernel agrees with the scalar
// vec_dot of the original rows within kPackedMatmulTolerance, for every token count.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/cpu/cpu_features.h"
#include "backend/cpu/packed_matmul.h"
#include "backend/cpu/quant.h"
#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/repack.h"
#include "backend/cpu/thread_pool.h"
#include "backend/cpu/vec_dot.h"
#include "check.h"
#include "core/half.h"
#include "random_rows.h"

using namespace alloy;
using namespace alloy::cpu;
using alloy_test::quantized;
using alloy_test::random_activations;
using alloy_test::random_weight_row;

namespace {

// Largest accepted |packed - vec_dot| / sum_i |w_i * a_i| (dequantized): the two sum the same
// exact integer block dots with different float orders (one accumulator per output against
// eight lanes), so they differ by a few float roundings of partial sums. Measured 1.31e-7 at
// most over this test's rows (both sides' rounding); 3e-7 = measured x 2.3, in the range of
// test_quant's per-type tolerances.
constexpr double kPackedMatmulTolerance = 3e-7;

struct Matrix {
  GgmlType type;
  int64_t n_rows, n_cols;
  std::vector<uint8_t> bytes;
  WeightView view() const {
    WeightView w;
    w.name = "test";
    w.type = type;
    w.n_cols = n_cols;
    w.n_rows = n_rows;
    w.row_bytes = *ggml_row_bytes(type, static_cast<uint64_t>(n_cols));
    w.bytes = ByteSpan(bytes.data(), bytes.size());
    return w;
  }
};

Matrix random_matrix(GgmlType type, int64_t n_rows, int64_t n_cols, Rng& rng) {
  Matrix m{type, n_rows, n_cols, {}};
  for (int64_t r = 0; r < n_rows; ++r) {
    const std::vector<uint8_t> row = random_weight_row(type, n_cols, rng);
    m.bytes.insert(m.bytes.end(), row.begin(), row.end());
  }
  return m;
}

double abs_dot(GgmlType type, const uint8_t* w, const uint8_t* a, int64_t n) {
  std::vector<float> wf(static_cast<size_t>(n)), af(static_cast<size_t>(n));
  dequantize_row(type, w, wf.data(), n);
  dequantize_row(GgmlType::Q8_0, a, af.data(), n);  // a Q8_0 activation row has Q8_0's layout
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(wf[static_cast<size_t>(i)]) * af[static_cast<size_t>(i)]);
  return s;
}

}  // namespace

TEST_CASE("packed layout: every quant of every row is where the kernel reads it") {
  Rng rng(5);
  ThreadPool pool(2);
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0}) {
    const Matrix m = random_matrix(type, 32, 96, rng);
    const PackedMatrix packed = pack_matrix(m.view(), pool);
    std::vector<float> row(96);
    int wrong = 0;
    for (int64_t r = 0; r < m.n_rows; ++r) {
      dequantize_row(type, m.view().row(r), row.data(), 96);
      for (int64_t i = 0; i < 96; ++i) {
        const BlockQ8_0* q8 = reinterpret_cast<const BlockQ8_0*>(m.view().row(r));
        const BlockQ4_0* q4 = reinterpret_cast<const BlockQ4_0*>(m.view().row(r));
        const int expected = type == GgmlType::Q8_0
                                 ? static_cast<int>(q8[i / 32].qs[i % 32]) + 128
                                 : (i % 32 < 16 ? q4[i / 32].qs[i % 32] & 0xF : q4[i / 32].qs[i % 32 - 16] >> 4);
        if (packed_quant(packed, r, i) != expected) ++wrong;
      }
    }
    CHECK_EQ(wrong, 0);
  }
  WeightView odd = random_matrix(GgmlType::Q8_0, 24, 32, rng).view();
  CHECK(!packable(odd));  // not a multiple of 16 rows
}

#if defined(__x86_64__)
TEST_CASE("packed matmul agrees with vec_dot within kPackedMatmulTolerance for 1..9 tokens") {
  if (host_simd_level() != SimdLevel::avx512_vnni) {
    std::printf("skipped on this CPU: no AVX-512 VNNI (the packed path is not used here either)\n");
    return;
  }
  Rng rng(6);
  ThreadPool pool(1);
  double worst = 0;
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0}) {
    for (int64_t n_cols : {32, 896}) {
      const Matrix m = random_matrix(type, 48, n_cols, rng);
      const WeightView w = m.view();
      const PackedMatrix packed = pack_matrix(w, pool);
      for (int n_tokens = 1; n_tokens <= 9; ++n_tokens) {
        const size_t a_stride = activation_row_bytes(ActType::q8_0, n_cols);
        std::vector<uint8_t> acts;
        for (int t = 0; t < n_tokens; ++t) {
          const std::vector<uint8_t> row = quantized(ActType::q8_0, random_activations(rng, n_cols));
          acts.insert(acts.end(), row.begin(), row.end());
        }
        const int64_t n_blocks = n_cols / 32;
        std::vector<int32_t> sums(static_cast<size_t>(n_blocks * n_tokens));
        for (int t = 0; t < n_tokens; ++t) {
          activation_block_sums(acts.data() + t * a_stride, n_blocks, packed_quant_offset(type), sums.data() + t * n_blocks);
        }
        std::vector<float> out(static_cast<size_t>(w.n_rows * n_tokens));
        const PackedMatmulArgs args{type,        packed.data.get(), packed.group_bytes, packed.block_bytes, n_blocks,
                                    acts.data(), a_stride,          sums.data(),        out.data(),         static_cast<size_t>(w.n_rows)};
        avx512::packed_matmul(args, 0, w.n_rows / kPackRows, n_tokens);
        for (int t = 0; t < n_tokens; ++t) {
          for (int64_t r = 0; r < w.n_rows; ++r) {
            const uint8_t* a = acts.data() + t * a_stride;
            const float reference = vec_dot(type, w.row(r), a, n_cols);
            const double err = std::fabs(static_cast<double>(out[static_cast<size_t>(t * w.n_rows + r)]) - reference) /
                               abs_dot(type, w.row(r), a, n_cols);
            worst = std::max(worst, err);
          }
        }
      }
    }
  }
  std::printf("largest relative difference %.3g (tolerance %.3g)\n", worst, kPackedMatmulTolerance);
  CHECK(worst <= kPackedMatmulTolerance);
}
#endif
