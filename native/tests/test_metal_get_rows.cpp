// get_rows.metal, the embedding lookup, for every weight type the CPU backend dequantizes,
// through the emulator against the CPU's dequantize_row: the results must be its bits exactly
// (tolerance zero: each kernel decodes with its type's dequantization policy, dequant_*.h,
// which does the CPU's float operations in the CPU's order, and the F16 / BF16 conversions are
// exact). Shapes: odd row lengths where the type allows them, chunk counts below, at and above
// the threadgroup's threads (so threads loop over several chunks or have none), several rows,
// ids out of order and repeated, padded output rows whose padding must stay untouched; both
// lane orders. Every dispatch must run clean (no read or write out of bounds).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

namespace metal_kernels {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/get_rows.metal"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_kernels

#include "backend/cpu/quant.h"
#include "check.h"
#include "core/rng.h"
#include "random_rows.h"

using namespace alloy;
using namespace alloy::metal_emu;

namespace {

using GetRowsFn = decltype(&metal_kernels::kernel_get_rows<metal_kernels::DequantF32>);

constexpr float kOutSentinel = -7777.0f;  // the output rows' padding, which no thread may write

struct Shape {
  int n_cols, n_rows, threads, out_pad;
  std::vector<int32_t> ids;
};

// Row lengths by the type's granularity (TypeCase).
std::vector<Shape> shapes_for(int granularity) {
  if (granularity == 1) {
    return {{1, 3, 32, 0, {2, 1}},
            {7, 5, 32, 1, {4, 0, 4, 2}},
            {130, 4, 64, 3, {3, 3, 0}},
            {517, 6, 32, 0, {5, 1, 0, 5}}};  // F32 / F16 / BF16: 130 chunks of 4 over 32 threads
  }
  if (granularity == 32) {
    return {{32, 3, 32, 0, {1, 2}},
            {96, 5, 64, 2, {4, 0, 4, 3}},
            {1056, 4, 32, 1, {3, 1, 3}}};  // 66 (Q4_*, Q5_*) or 132 (Q8_0) chunks over 32 threads
  }
  return {{256, 3, 32, 0, {2, 0}},
          {768, 5, 32, 2, {4, 1, 4, 0, 2}},  // 48 chunks of 16 over 32 threads
          {512, 2, 256, 0, {1, 1, 0}}};      // 32 chunks, most threads idle
}

void check_type(GgmlType type, GetRowsFn kernel, int granularity, Rng& rng) {
  for (const Shape& s : shapes_for(granularity)) {
    const size_t row_bytes = *ggml_row_bytes(type, static_cast<uint64_t>(s.n_cols));
    std::vector<uint8_t> weights;
    for (int r = 0; r < s.n_rows; ++r) {
      const std::vector<uint8_t> row = alloy_test::random_weight_row(type, s.n_cols, rng);
      weights.insert(weights.end(), row.begin(), row.end());
    }
    const int n_ids = static_cast<int>(s.ids.size());
    const int stride = s.n_cols + s.out_pad;
    std::vector<float> expect(static_cast<size_t>(n_ids) * stride, kOutSentinel);
    for (int i = 0; i < n_ids; ++i) {
      cpu::dequantize_row(type, &weights[static_cast<size_t>(s.ids[i]) * row_bytes], &expect[static_cast<size_t>(i) * stride],
                          s.n_cols);
    }
    const kargs::GetRows args{s.n_cols, 0, static_cast<uint64_t>(row_bytes), static_cast<uint64_t>(stride)};
    for (LaneOrder order : {LaneOrder::forward, LaneOrder::reverse}) {
      const Buffer wb = Buffer::of("weights", weights), ib = Buffer::of("ids", s.ids);
      const Buffer ob = Buffer::of("out", std::vector<float>(expect.size(), kOutSentinel));
      const auto wv = wb.view<const metal::uchar>();
      const auto iv = ib.view<const int>();
      const auto ov = ob.view<float>();
      DispatchConfig c;
      c.threadgroups = metal::uint3(1u, static_cast<uint32_t>(n_ids), 1u);
      c.threads_per_threadgroup = metal::uint3(static_cast<uint32_t>(s.threads), 1u, 1u);
      c.order = order;
      const DispatchReport report = dispatch(c, [&](const Lane& l) {
        kernel(args, wv, iv, ov, l.threadgroup_position_in_grid, l.thread_index_in_threadgroup, l.threads_per_threadgroup.x);
      });
      if (!report.ok()) std::printf("dispatch errors:\n%s", report.summary().c_str());
      CHECK(report.ok());
      const std::vector<float> got = ob.to_vector<float>();
      const bool exact = std::memcmp(got.data(), expect.data(), got.size() * sizeof(float)) == 0;
      CHECK(exact);
      if (!exact) std::printf("  %s n_cols %d: not the CPU's bits\n", std::string(ggml_type_name(type)).c_str(), s.n_cols);
    }
  }
}

// Every type's kernel and row-length granularity: any (float types), 32 (Q4_0 .. Q8_0), 256
// (K-quants).
struct TypeCase {
  GgmlType type;
  GetRowsFn kernel;
  int granularity;
};

const TypeCase kTypes[] = {
    {GgmlType::F32, &metal_kernels::kernel_get_rows<metal_kernels::DequantF32>, 1},
    {GgmlType::F16, &metal_kernels::kernel_get_rows<metal_kernels::DequantF16>, 1},
    {GgmlType::BF16, &metal_kernels::kernel_get_rows<metal_kernels::DequantBF16>, 1},
    {GgmlType::Q4_0, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ4_0>, 32},
    {GgmlType::Q4_1, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ4_1>, 32},
    {GgmlType::Q5_0, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ5_0>, 32},
    {GgmlType::Q5_1, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ5_1>, 32},
    {GgmlType::Q8_0, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ8_0>, 32},
    {GgmlType::Q2_K, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ2_K>, 256},
    {GgmlType::Q3_K, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ3_K>, 256},
    {GgmlType::Q4_K, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ4_K>, 256},
    {GgmlType::Q5_K, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ5_K>, 256},
    {GgmlType::Q6_K, &metal_kernels::kernel_get_rows<metal_kernels::DequantQ6_K>, 256},
};

// The types of one granularity, each on its shapes, from one seed.
void check_types(int granularity, uint64_t seed) {
  Rng rng(seed);
  for (const TypeCase& tc : kTypes) {
    if (tc.granularity == granularity) check_type(tc.type, tc.kernel, granularity, rng);
  }
}

}  // namespace

TEST_CASE("get_rows.metal: F32, F16 and BF16 rows are the CPU's bits") { check_types(1, 851); }

TEST_CASE("get_rows.metal: Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 rows are the CPU's dequantized bits") { check_types(32, 852); }

TEST_CASE("get_rows.metal: K-quant rows are the CPU's dequantized bits") { check_types(256, 853); }
