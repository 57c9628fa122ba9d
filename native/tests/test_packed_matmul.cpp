// The packed-weight matmul (backend/cpu/repack.h, packed_matmul.h): the packed layout holds
// every quant where the kernel expects it, and the AVX-512 VNNI kernel agrees with the scalar
// vec_dot of the original rows within kPackedMatmulTolerance, for every token count.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/cpu_features.h"
#include "backend/cpu/packed_matmul.h"
#include "backend/cpu/quant.h"
#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/quantize_activations.h"
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
// most for Q8_0 / Q4_0 and 2.0e-7 with the K-quants over this test's rows (both sides'
// rounding); 3e-7 = measured x 1.5, in the range of test_quant's per-type tolerances.
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
  dequantize_activation_row(activation_type_for(type), a, n, af.data());
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::fabs(static_cast<double>(wf[static_cast<size_t>(i)]) * af[static_cast<size_t>(i)]);
  return s;
}

// The quant of element i of a row as the block stores it (the value packed_quant reports).
int original_quant(GgmlType type, const uint8_t* row, int64_t i) {
  if (type == GgmlType::Q8_0) return reinterpret_cast<const BlockQ8_0*>(row)[i / 32].qs[i % 32] + 128;
  if (type == GgmlType::Q4_0) {
    const BlockQ4_0& b = reinterpret_cast<const BlockQ4_0*>(row)[i / 32];
    return i % 32 < 16 ? b.qs[i % 32] & 0xF : b.qs[i % 32 - 16] >> 4;
  }
  if (type == GgmlType::Q5_0) {
    const BlockQ5_0& b = reinterpret_cast<const BlockQ5_0*>(row)[i / 32];
    const int64_t k = i % 32;
    const int nibble = k < 16 ? b.qs[k] & 0xF : b.qs[k - 16] >> 4;
    return nibble | static_cast<int>(((load_u32(b.qh) >> k) & 1u) << 4);
  }
  if (type == GgmlType::Q4_K) {  // element 64p + 32h + l: nibble h of qs[32p + l]
    const BlockQ4_K& b = reinterpret_cast<const BlockQ4_K*>(row)[i / 256];
    const int64_t k = i % 256;
    const uint8_t byte = b.qs[32 * (k / 64) + k % 32];
    return (k % 64) < 32 ? byte & 0xF : byte >> 4;
  }
  return q6_k_quant(reinterpret_cast<const BlockQ6_K*>(row)[i / 256], static_cast<int>(i % 256));
}

const GgmlType kPackedTypes[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q6_K};

int64_t block_elems_of(GgmlType type) { return type == GgmlType::Q4_K || type == GgmlType::Q6_K ? 256 : 32; }

}  // namespace

TEST_CASE("packed layout: every quant of every row is where the kernel reads it") {
  Rng rng(5);
  ThreadPool pool(2);
  for (GgmlType type : kPackedTypes) {
    const int64_t n_cols = 3 * block_elems_of(type);
    const Matrix m = random_matrix(type, 32, n_cols, rng);
    const PackedMatrix packed = pack_matrix(m.view(), pool);
    int wrong = 0;
    for (int64_t r = 0; r < m.n_rows; ++r) {
      for (int64_t i = 0; i < n_cols; ++i) {
        if (packed_quant(packed, r, i) != original_quant(type, m.view().row(r), i)) ++wrong;
      }
    }
    if (wrong != 0) alloy_test::report_failure(__FILE__, __LINE__, std::string(ggml_type_name(type)) + ": " + std::to_string(wrong) + " quants misplaced");
  }
  WeightView odd = random_matrix(GgmlType::Q8_0, 24, 32, rng).view();
  CHECK(!packable(odd));  // not a multiple of 16 rows
}

#if defined(__x86_64__)
TEST_CASE("packed matmul agrees with vec_dot within kPackedMatmulTolerance (Q5_0: bit for bit) for 1..9 tokens") {
  if (!has_avx512_vnni(host_simd_level())) {
    std::printf("skipped on this CPU: no AVX-512 VNNI (the packed path is not used here either)\n");
    return;
  }
  Rng rng(6);
  ThreadPool pool(1);
  double worst = 0;
  int q5_0_mismatches = 0;
  for (GgmlType type : kPackedTypes) {
    const int64_t block = block_elems_of(type);
    // 15 groups of 16 rows: decode reads 8, 4, 2 and 1 groups side by side.
    for (const auto& [n_rows, n_cols] : {std::pair<int64_t, int64_t>{48, block}, {48, 7 * block}, {240, 2 * block}}) {
      const Matrix m = random_matrix(type, n_rows, n_cols, rng);
      const WeightView w = m.view();
      const PackedMatrix packed = pack_matrix(w, pool);
      for (int n_tokens = 1; n_tokens <= 9; ++n_tokens) {
        const ActType act = activation_type_for(type);
        const size_t a_stride = activation_row_bytes(act, n_cols);
        std::vector<uint8_t> acts;
        for (int t = 0; t < n_tokens; ++t) {
          const std::vector<uint8_t> row = quantized(act, random_activations(rng, n_cols));
          acts.insert(acts.end(), row.begin(), row.end());
        }
        const int64_t n_blocks = n_cols / block;
        const int groups = packed_sum_groups(type);
        std::vector<int32_t> sums(static_cast<size_t>(n_blocks * groups * n_tokens));
        const bool legacy = act == ActType::q8_0;
        for (int t = 0; legacy && t < n_tokens; ++t) {
          activation_block_sums(acts.data() + t * a_stride, n_blocks, packed_quant_offset(type), groups,
                                sums.data() + t * n_blocks * groups);
        }
        std::vector<float> out(static_cast<size_t>(w.n_rows * n_tokens));
        const PackedMatmulArgs args{type,     packed.data.get(), packed.group_bytes, packed.block_bytes, n_blocks, acts.data(),
                                    a_stride, legacy ? sums.data() : nullptr, static_cast<size_t>(n_blocks * groups),
                                    out.data(), static_cast<size_t>(w.n_rows)};
        avx512::packed_matmul(args, 0, w.n_rows / kPackRows, n_tokens);
        for (int t = 0; t < n_tokens; ++t) {
          for (int64_t r = 0; r < w.n_rows; ++r) {
            const uint8_t* a = acts.data() + t * a_stride;
            const float reference = vec_dot(type, w.row(r), a, n_cols);
            const float got = out[static_cast<size_t>(t * w.n_rows + r)];
            if (type == GgmlType::Q5_0) {  // kept in vec_dot's lanes: bit-identical
              if (std::memcmp(&got, &reference, sizeof got) != 0) ++q5_0_mismatches;
              continue;
            }
            worst = std::max(worst, std::fabs(static_cast<double>(got) - reference) / abs_dot(type, w.row(r), a, n_cols));
          }
        }
      }
    }
  }
  std::printf("largest relative difference %.3g (tolerance %.3g)\n", worst, kPackedMatmulTolerance);
  CHECK(worst <= kPackedMatmulTolerance);
  CHECK_EQ(q5_0_mismatches, 0);
}
#endif

#if defined(ALLOY_CPU_HAS_AMX_KERNELS)
TEST_CASE("AMX chunks hold six pairs of groups, and slices of wide rows fit the operand scratch") {
  const size_t q8_block = 32 + 16 * 32;  // 16 f16 scales and 16 rows of 32 quants
  for (int64_t n_blocks : {28, 48, 152, 280}) {
    const int64_t groups = amx::chunk_groups(static_cast<size_t>(n_blocks) * q8_block);
    const int64_t slice = amx::slice_blocks(n_blocks, groups);
    CHECK(groups % 2 == 0 && groups >= 2 * amx::kPairsAtOnce);
    CHECK(static_cast<size_t>(groups * slice) * amx::kOperandBytes <= amx::kChunkBytes);
    CHECK(amx::operand_scratch_bytes(n_blocks, static_cast<size_t>(n_blocks) * q8_block) ==
          static_cast<size_t>(groups * slice) * amx::kOperandBytes);
    const int64_t n_slices = (n_blocks + slice - 1) / slice;
    CHECK(n_slices * slice - n_blocks < n_slices);  // even slices: the last is at most one block short per slice
  }
  CHECK(amx::slice_blocks(28, 34) == 28);  // 0.5B-shape rows of 896: one slice
  CHECK(amx::slice_blocks(152, 12) == 76);  // rows of 4864: two
  CHECK(amx::slice_blocks(280, 12) == 70);  // rows of 8960 (1.5B): four
}

TEST_CASE("AMX Q8_0 / Q4_0 matmul is bit-identical to the VNNI kernel (odd groups, partly padded token tiles)") {
  if (!has_amx(host_simd_level())) {
    std::printf("skipped on this CPU: no AMX-INT8 (or the OS did not grant it)\n");
    return;
  }
  Rng rng(7);
  ThreadPool pool(1);
  int mismatches = 0, compared = 0;
  // 67 groups of 960 columns span three chunks of operands for Q8_0 (amx::chunk_groups: 32)
  // and two for Q4_0 (60), whose 16 and 30 pairs end in a partial set of pairs (six at once);
  // 13 groups of 4864 columns are one chunk of 12 groups in two slices of 76 blocks
  // (amx::slice_blocks) and an odd group.
  std::vector<std::pair<int64_t, int64_t>> shapes = {{67 * kPackRows, 30 * 32}, {13 * kPackRows, 152 * 32}};
  for (int64_t n_rows : {32, 48, 96}) {
    for (int64_t n_cols : {32, 7 * 32, 30 * 32}) shapes.emplace_back(n_rows, n_cols);
  }
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0}) {
    for (const auto& [n_rows, n_cols] : shapes) {
      const Matrix m = random_matrix(type, n_rows, n_cols, rng);
      const PackedMatrix packed = pack_matrix(m.view(), pool);
      for (int n_tokens : {1, 16, 24, 32, 33, 47, 64, 95}) {
        const size_t a_stride = activation_row_bytes(ActType::q8_0, n_cols);
        std::vector<uint8_t> acts;
        for (int t = 0; t < n_tokens; ++t) {
          const std::vector<uint8_t> row = quantized(ActType::q8_0, random_activations(rng, n_cols));
          acts.insert(acts.end(), row.begin(), row.end());
        }
        const int64_t n_blocks = n_cols / 32;
        const int padded = (n_tokens + kAmxTileTokens - 1) / kAmxTileTokens * kAmxTileTokens;
        std::vector<int32_t> sums(static_cast<size_t>(n_blocks * n_tokens));
        // The AMX tables hold whole tiles; the padding rows get what the backend gives them.
        std::vector<float> scales(static_cast<size_t>(n_blocks * padded), 1e30f);
        std::vector<uint8_t> tiles_in(scales.size() * 32, uint8_t{0x7F});
        for (int t = 0; t < n_tokens; ++t) {
          activation_tiles(acts.data() + t * a_stride, t, n_blocks, tiles_in.data());
          activation_block_sums(acts.data() + t * a_stride, n_blocks, packed_quant_offset(type), 1,
                                sums.data() + t * n_blocks);
          activation_block_scales(acts.data() + t * a_stride, n_blocks, scales.data() + t * n_blocks);
        }
        for (int t = n_tokens; t < padded; ++t) padding_tile_row(t, n_blocks, tiles_in.data(), scales.data() + t * n_blocks);
        std::vector<float> vnni(static_cast<size_t>(n_rows * n_tokens)), tiles(vnni.size(), -1.0f);
        PackedMatmulArgs args{type, packed.data.get(), packed.group_bytes, packed.block_bytes, n_blocks,
                              acts.data(),    a_stride,          sums.data(),        static_cast<size_t>(n_blocks),
                              vnni.data(),    static_cast<size_t>(n_rows)};
        avx512::packed_matmul(args, 0, n_rows / kPackRows, n_tokens);
        args.out = tiles.data();
        args.act_scales = scales.data();
        args.act_tiles = tiles_in.data();
        std::vector<uint8_t> operands(amx::operand_scratch_bytes(n_blocks, packed.group_bytes));
        amx::packed_matmul(args, 0, n_rows / kPackRows, n_tokens, operands.data());
        for (size_t i = 0; i < vnni.size(); ++i, ++compared) {
          if (std::memcmp(&vnni[i], &tiles[i], sizeof(float)) != 0) ++mismatches;
        }
      }
    }
  }
  std::printf("%d of %d outputs differ\n", mismatches, compared);
  CHECK_EQ(mismatches, 0);
}
#endif

TEST_CASE("CpuBackend: a prompt's packed Q8_0 / Q4_0 matmuls equal token-by-token ones (odd and even group counts, shared input)") {
  Rng rng(11);
  int mismatches = 0, compared = 0;
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_0}) {
    // 48 rows: three groups, the last one left to the VNNI kernel when AMX takes the pairs.
    const Matrix odd = random_matrix(type, 48, 7 * 32, rng), even = random_matrix(type, 64, 7 * 32, rng);
    const WeightView odd_view = odd.view(), even_view = even.view();
    CpuBackendConfig config;
    config.n_threads = 2;
    config.max_tokens = 40;
    CpuBackend backend(config, {&odd_view, &even_view});
    const int n_tokens = 40;
    std::vector<float> x;
    for (int t = 0; t < n_tokens; ++t) {
      const std::vector<float> row = random_activations(rng, 7 * 32);
      x.insert(x.end(), row.begin(), row.end());
    }
    std::vector<float> alone(48 * n_tokens), shared_odd(alone.size()), shared_even(64 * n_tokens), one(64);
    std::vector<float> even_alone(shared_even.size());
    backend.matmul(odd_view, x.data(), n_tokens, alone.data());
    backend.matmul(even_view, x.data(), n_tokens, even_alone.data());  // AMX alone (no odd group)
    const MatmulTarget targets[] = {{&even_view, shared_even.data()}, {&odd_view, shared_odd.data()}};
    backend.matmul_shared_input(targets, 2, x.data(), n_tokens);
    for (int t = 0; t < n_tokens; ++t) {
      const float* xt = x.data() + t * 7 * 32;
      backend.matmul(odd_view, xt, 1, one.data());
      for (int r = 0; r < 48; ++r, compared += 2) {
        mismatches += std::memcmp(&one[r], &alone[t * 48 + r], sizeof(float)) != 0;
        mismatches += std::memcmp(&one[r], &shared_odd[t * 48 + r], sizeof(float)) != 0;
      }
      backend.matmul(even_view, xt, 1, one.data());
      for (int r = 0; r < 64; ++r, compared += 2) {
        mismatches += std::memcmp(&one[r], &shared_even[t * 64 + r], sizeof(float)) != 0;
        mismatches += std::memcmp(&one[r], &even_alone[t * 64 + r], sizeof(float)) != 0;
      }
    }
  }
  std::printf("%d of %d outputs differ\n", mismatches, compared);
  CHECK_EQ(mismatches, 0);
}

TEST_CASE("CpuBackend: matmul_swiglu equals swiglu then matmul bit for bit") {
  Rng rng(12);
  int mismatches = 0, compared = 0;
  // Packed (Q8_0: AMX from 32 tokens; Q4_K: Q8_K activations), tiled or plain (Q5_1, F16) and
  // F32 weights (their input is the floats themselves: the fallback).
  for (GgmlType type : {GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_1, GgmlType::F16, GgmlType::F32}) {
    const int64_t n_ff = 512, n_rows = 64;
    const Matrix down = random_matrix(type, n_rows, n_ff, rng);
    const WeightView view = down.view();
    CpuBackendConfig config;
    config.n_threads = 2;
    config.max_tokens = 40;
    CpuBackend backend(config, {&view});
    for (int n_tokens : {1, 5, 40}) {
      std::vector<float> gate, up;
      for (int t = 0; t < n_tokens; ++t) {
        const std::vector<float> g = random_activations(rng, n_ff), u = random_activations(rng, n_ff);
        gate.insert(gate.end(), g.begin(), g.end());
        up.insert(up.end(), u.begin(), u.end());
      }
      std::vector<float> gated(gate.size()), fused_gate = gate, separate(static_cast<size_t>(n_rows * n_tokens)),
          fused(separate.size());
      backend.swiglu(gate.data(), up.data(), n_tokens, static_cast<int>(n_ff), gated.data());
      backend.matmul(view, gated.data(), n_tokens, separate.data());
      backend.matmul_swiglu(view, fused_gate.data(), up.data(), n_tokens, fused.data());
      for (size_t i = 0; i < fused.size(); ++i, ++compared) mismatches += std::memcmp(&fused[i], &separate[i], sizeof(float)) != 0;
    }
  }
  std::printf("%d of %d outputs differ\n", mismatches, compared);
  CHECK_EQ(mismatches, 0);
}
