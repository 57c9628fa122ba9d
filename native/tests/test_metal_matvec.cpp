// The decode matrix-vector kernels of the float weight types (F32, F16, BF16) and the
// 32-element block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0), every variant, through the emulator
// against the CPU backend (the checks and their bounds: matvec_check.h). The K-quants:
// test_metal_matvec_k_quants.cpp.
#include <iterator>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

namespace metal_kernels {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/matvec_float.metal"
#include "backend/metal/kernels/matvec_legacy.metal"
#include "backend/metal/kernels/matvec_q8_0.metal"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_kernels

#include "matvec_check.h"

// {n_cols, n_rows, n_tokens, x_pad, y_pad, has_bias}: the float types take any row length.
const matvec_check::Shape kFloatShapes[] = {{1, 1, 1, 0, 0, 0}, {7, 5, 2, 1, 0, 1}, {33, 9, 1, 0, 3, 0}, {130, 8, 3, 2, 1, 1}, {517, 13, 1, 0, 0, 1}};
const matvec_check::Shape kLegacyShapes[] = {{32, 1, 1, 0, 0, 1}, {96, 7, 2, 3, 0, 0}, {288, 9, 1, 0, 2, 1}, {544, 17, 3, 1, 1, 0}, {1024, 5, 1, 0, 0, 1}};

TEST_CASE("matvec F32, F16 and BF16 kernels: every variant against the CPU") {
  using namespace metal_kernels;
  using namespace matvec_check;
  check_type(type_case<DequantF32>(GgmlType::F32, true), kFloatShapes, std::size(kFloatShapes), 801);
  check_type(type_case<DequantF16>(GgmlType::F16, true), kFloatShapes, std::size(kFloatShapes), 802);
  check_type(type_case<DequantBF16>(GgmlType::BF16, true), kFloatShapes, std::size(kFloatShapes), 813);
}

TEST_CASE("matvec Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 kernels: every variant against the CPU") {
  using namespace metal_kernels;
  using namespace matvec_check;
  check_type(type_case<DequantQ4_0>(GgmlType::Q4_0, true), kLegacyShapes, std::size(kLegacyShapes), 803);
  check_type(type_case<DequantQ4_1>(GgmlType::Q4_1, false), kLegacyShapes, std::size(kLegacyShapes), 804);
  check_type(type_case<DequantQ5_0>(GgmlType::Q5_0, true), kLegacyShapes, std::size(kLegacyShapes), 805);
  check_type(type_case<DequantQ5_1>(GgmlType::Q5_1, false), kLegacyShapes, std::size(kLegacyShapes), 806);
  check_type(type_case<DequantQ8_0>(GgmlType::Q8_0, true), kLegacyShapes, std::size(kLegacyShapes), 807);
}
