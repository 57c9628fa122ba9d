// The decode matrix-vector kernels of the K-quant weight types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K),
// every variant, through the emulator against the CPU backend (the checks and their bounds:
// matvec_check.h). The float and 32-element block types: test_metal_matvec.cpp.
#include <iterator>

#include "backend/metal/emu/metal_emu.h"
#include "backend/metal/kernels/kernel_args.h"

namespace metal_kernels {
#include "backend/metal/emu/kernel_begin.h"
#include "backend/metal/kernels/matvec_k_quants.metal"
#include "backend/metal/emu/kernel_end.h"
}  // namespace metal_kernels

#include "matvec_check.h"

// {n_cols, n_rows, n_tokens, x_pad, y_pad, has_bias}: rows of whole 256-element super-blocks.
const matvec_check::Shape kKQuantShapes[] = {{256, 1, 1, 0, 0, 0}, {512, 3, 2, 5, 0, 1}, {768, 5, 1, 0, 2, 0}, {1280, 6, 2, 1, 1, 1}};

TEST_CASE("matvec K-quant kernels: every variant against the CPU") {
  using namespace metal_kernels;
  using namespace matvec_check;
  check_type(type_case<DequantQ2_K>(GgmlType::Q2_K, false), kKQuantShapes, std::size(kKQuantShapes), 808);
  check_type(type_case<DequantQ3_K>(GgmlType::Q3_K, true), kKQuantShapes, std::size(kKQuantShapes), 809);
  check_type(type_case<DequantQ4_K>(GgmlType::Q4_K, false), kKQuantShapes, std::size(kKQuantShapes), 810);
  check_type(type_case<DequantQ5_K>(GgmlType::Q5_K, false), kKQuantShapes, std::size(kKQuantShapes), 811);
  check_type(type_case<DequantQ6_K>(GgmlType::Q6_K, true), kKQuantShapes, std::size(kKQuantShapes), 812);
}
