// MSL's SIMD-group matrices (<metal_simdgroup_matrix>) for emulated kernels (metal_emu.h):
// simdgroup_matrix<T, Cols, Rows> (simdgroup_float8x8, simdgroup_half8x8),
// make_filled_simdgroup_matrix, simdgroup_load, simdgroup_store, simdgroup_multiply and
// simdgroup_multiply_accumulate.
//
// On the GPU a matrix is spread over the 32 lanes of a SIMD group and every operation is
// executed by the whole SIMD group together, with the same arguments in every lane. Here each
// lane holds a full copy of the matrix (the copies stay identical because only these uniform
// operations change them), and every load, store and multiply is a rendezvous of simd_ops.h:
// the lanes wait at the call until the scheduler (dispatch.h) has all of them, then the
// operation runs once, from one lane's arguments, and its result goes to every lane. Errors
// end the dispatch with a message naming the call site:
//  * lanes of one SIMD group at different operations: "divergent SIMD-group operations";
//  * a SIMD group with a lane that has returned or does not exist (a partial last group):
//    MSL requires all 32 lanes, so this is an error rather than a reduction over fewer lanes;
//  * arguments (pointer, elements_per_row, matrix_origin, transpose) that differ between lanes;
//  * a load or store reaching outside its buffer or threadgroup allocation: every element goes
//    through the bounds-checked Ptr of buffer_view.h.
//
// Semantics. Element (i, j) is row i, column j. For an 8x8 matrix m, simdgroup_load(m, src,
// elements_per_row, matrix_origin, transpose) reads
//   m(i, j) = src[(origin.y + i) * elements_per_row + origin.x + j]  (transpose false),
//   m(i, j) = src[(origin.y + j) * elements_per_row + origin.x + i]  (transpose true),
// with matrix_origin = (column, row) of the first element in memory, and simdgroup_store
// writes the same places. simdgroup_multiply_accumulate(d, a, b, c) computes d = a * b + c for
// a of Rows_a x K, b of K x Cols_b; element types may differ (half a, float b, float c and d,
// as llama.cpp's kernel_mul_mm uses). Each element of d is computed in float: c(i, j) plus the
// products a(i, k) * b(k, j) for k = 0, 1, ... in order, each product rounded to float and
// added with one float rounding, then converted to d's type. The GPU's order and internal
// precision are unspecified (at least float here); the kernel tests' tolerances cover it.
// The constructor simdgroup_matrix(v) gives the diagonal matrix v * I, as in MSL.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "backend/metal/emu/buffer_view.h"
#include "backend/metal/emu/dispatch.h"
#include "backend/metal/emu/metal_types.h"

namespace metal {

using ulong2 = vec<ulong, 2>;

template <class T, unsigned Cols, unsigned Rows>
struct simdgroup_matrix {
  static_assert(Cols == 8 && Rows == 8, "MSL's SIMD-group matrices are 8x8");
  simdgroup_matrix() = default;  // undefined contents, as in MSL
  explicit simdgroup_matrix(T diagonal) {
    for (unsigned i = 0; i < Rows; ++i) {
      for (unsigned j = 0; j < Cols; ++j) e[i][j] = i == j ? diagonal : T(0.0f);
    }
  }
  // The elements, row by row: emulator only (a kernel cannot name them: MSL has no such member).
  T e[Rows][Cols];
};

using simdgroup_float8x8 = simdgroup_matrix<float, 8, 8>;
using simdgroup_half8x8 = simdgroup_matrix<half, 8, 8>;

template <class T, unsigned Cols, unsigned Rows>
simdgroup_matrix<T, Cols, Rows> make_filled_simdgroup_matrix(T value) {
  simdgroup_matrix<T, Cols, Rows> m;
  for (unsigned i = 0; i < Rows; ++i) {
    for (unsigned j = 0; j < Cols; ++j) m.e[i][j] = value;
  }
  return m;
}

}  // namespace metal

namespace alloy::metal_emu::detail {

// The message of the last failed matrix operation: SimdApply returns a C string, so it must
// outlive the call (the scheduler copies it into the report at once).
inline std::string& matrix_error() {
  static thread_local std::string message;
  return message;
}

// Every lane of the SIMD group must take part: MSL's matrix operations are SIMD-group-uniform.
inline const char* require_full_group(const SimdExchange& ex, const char* what) {
  for (uint32_t l = 0; l < kSimdWidth; ++l) {
    if (l >= ex.lanes || !ex.active[l]) {
      matrix_error() = std::string(what) + " needs all 32 lanes of the SIMD group, lane " + std::to_string(l) +
                       (l >= ex.lanes ? " does not exist" : " has returned");
      return matrix_error().c_str();
    }
  }
  return nullptr;
}

// The arguments of a load or store as one lane passed them.
template <class E>
struct MatrixAccess {
  Ptr<E> memory;
  uint64_t elements_per_row = 0;
  uint64_t origin_x = 0, origin_y = 0;
  bool transpose = false;
  bool operator==(const MatrixAccess& o) const {
    return memory == o.memory && elements_per_row == o.elements_per_row && origin_x == o.origin_x && origin_y == o.origin_y &&
           transpose == o.transpose;
  }
  // The memory element of matrix element (i, j).
  E& at(unsigned i, unsigned j) const {
    const uint64_t row = origin_y + (transpose ? j : i), col = origin_x + (transpose ? i : j);
    return memory[row * elements_per_row + col];
  }
};

template <class E>
const char* check_uniform(const SimdExchange& ex, const char* what) {
  if (const char* error = require_full_group(ex, what)) return error;
  const auto& first = *static_cast<const MatrixAccess<E>*>(ex.in[0]);
  for (uint32_t l = 1; l < kSimdWidth; ++l) {
    if (!(*static_cast<const MatrixAccess<E>*>(ex.in[l]) == first)) {
      matrix_error() = std::string(what) + ": lane " + std::to_string(l) +
                       " passes other arguments than lane 0 (pointer, elements_per_row, origin or transpose)";
      return matrix_error().c_str();
    }
  }
  return nullptr;
}

template <class T, unsigned Cols, unsigned Rows>
const char* apply_load(const SimdExchange& ex) {
  using E = const T;
  if (const char* error = check_uniform<E>(ex, "simdgroup_load")) return error;
  const auto& access = *static_cast<const MatrixAccess<E>*>(ex.in[0]);
  metal::simdgroup_matrix<T, Cols, Rows> m;
  try {
    for (unsigned i = 0; i < Rows; ++i) {
      for (unsigned j = 0; j < Cols; ++j) m.e[i][j] = access.at(i, j);
    }
  } catch (const AccessFault& fault) {
    matrix_error() = std::string("simdgroup_load: ") + fault.what();
    return matrix_error().c_str();
  }
  for (uint32_t l = 0; l < kSimdWidth; ++l) *static_cast<metal::simdgroup_matrix<T, Cols, Rows>*>(ex.out[l]) = m;
  return nullptr;
}

// A store: `in` holds the lane's MatrixAccess, `out` (read only) its matrix.
template <class T, unsigned Cols, unsigned Rows>
const char* apply_store(const SimdExchange& ex) {
  if (const char* error = check_uniform<T>(ex, "simdgroup_store")) return error;
  const auto& access = *static_cast<const MatrixAccess<T>*>(ex.in[0]);
  const auto& m = *static_cast<const metal::simdgroup_matrix<T, Cols, Rows>*>(ex.out[0]);
  try {
    for (unsigned i = 0; i < Rows; ++i) {
      for (unsigned j = 0; j < Cols; ++j) access.at(i, j) = m.e[i][j];
    }
  } catch (const AccessFault& fault) {
    matrix_error() = std::string("simdgroup_store: ") + fault.what();
    return matrix_error().c_str();
  }
  return nullptr;
}

template <class TA, class TB, class TC>
struct MultiplyOperands {
  const TA* a;
  const TB* b;
  const TC* c;  // null: simdgroup_multiply
};

template <class TD, class TA, class TB, class TC, unsigned M, unsigned N, unsigned K>
const char* apply_multiply(const SimdExchange& ex) {
  using A = metal::simdgroup_matrix<TA, K, M>;
  using B = metal::simdgroup_matrix<TB, N, K>;
  using C = metal::simdgroup_matrix<TC, N, M>;
  using D = metal::simdgroup_matrix<TD, N, M>;
  if (const char* error = require_full_group(ex, "simdgroup_multiply_accumulate")) return error;
  const auto& ops = *static_cast<const MultiplyOperands<A, B, C>*>(ex.in[0]);
  D d;  // computed before any lane's d is written: d may alias a, b or c
  for (unsigned i = 0; i < M; ++i) {
    for (unsigned j = 0; j < N; ++j) {
      float acc = ops.c != nullptr ? static_cast<float>(ops.c->e[i][j]) : 0.0f;
      for (unsigned k = 0; k < K; ++k) {
        const float product = static_cast<float>(ops.a->e[i][k]) * static_cast<float>(ops.b->e[k][j]);
        acc = acc + product;
      }
      d.e[i][j] = static_cast<TD>(acc);
    }
  }
  for (uint32_t l = 0; l < kSimdWidth; ++l) *static_cast<D*>(ex.out[l]) = d;
  return nullptr;
}

template <class E>
MatrixAccess<E> matrix_access(const Ptr<E>& memory, metal::ulong elements_per_row, metal::ulong2 origin, bool transpose) {
  return MatrixAccess<E>{memory, elements_per_row, origin.x, origin.y, transpose};
}

}  // namespace alloy::metal_emu::detail

namespace metal {

// Device and threadgroup memory alike: both are Ptr<E> in the emulator (kernel_prelude.h).
template <class T, unsigned Cols, unsigned Rows, class E>
void simdgroup_load(simdgroup_matrix<T, Cols, Rows>& d, const alloy::metal_emu::Ptr<E>& src, ulong elements_per_row = Cols,
                    ulong2 matrix_origin = ulong2(0ul), bool transpose_matrix = false, const char* file = __builtin_FILE(),
                    int line = __builtin_LINE()) {
  static_assert(std::is_same_v<std::remove_const_t<E>, T>, "simdgroup_load: the memory holds the matrix's element type");
  namespace d_ = alloy::metal_emu::detail;
  const auto access = d_::matrix_access<const T>(alloy::metal_emu::Ptr<const T>(src), elements_per_row, matrix_origin, transpose_matrix);
  d_::wait(d_::LaneState::at_simd, file, line, alloy::metal_emu::SimdRequest{&d_::apply_load<T, Cols, Rows>, &access, &d, 0});
}

template <class T, unsigned Cols, unsigned Rows>
void simdgroup_store(const simdgroup_matrix<T, Cols, Rows>& a, const alloy::metal_emu::Ptr<T>& dst, ulong elements_per_row = Cols,
                     ulong2 matrix_origin = ulong2(0ul), bool transpose_matrix = false, const char* file = __builtin_FILE(),
                     int line = __builtin_LINE()) {
  namespace d_ = alloy::metal_emu::detail;
  const auto access = d_::matrix_access<T>(dst, elements_per_row, matrix_origin, transpose_matrix);
  // The matrix travels in the request's `out` slot; apply_store only reads it.
  d_::wait(d_::LaneState::at_simd, file, line,
           alloy::metal_emu::SimdRequest{&d_::apply_store<T, Cols, Rows>, &access, const_cast<simdgroup_matrix<T, Cols, Rows>*>(&a), 0});
}

// d = a * b + c.
template <class TD, class TA, class TB, class TC, unsigned M, unsigned N, unsigned K>
void simdgroup_multiply_accumulate(simdgroup_matrix<TD, N, M>& d, const simdgroup_matrix<TA, K, M>& a,
                                   const simdgroup_matrix<TB, N, K>& b, const simdgroup_matrix<TC, N, M>& c,
                                   const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  namespace d_ = alloy::metal_emu::detail;
  using Ops = d_::MultiplyOperands<simdgroup_matrix<TA, K, M>, simdgroup_matrix<TB, N, K>, simdgroup_matrix<TC, N, M>>;
  const Ops ops{&a, &b, &c};
  d_::wait(d_::LaneState::at_simd, file, line,
           alloy::metal_emu::SimdRequest{&d_::apply_multiply<TD, TA, TB, TC, M, N, K>, &ops, &d, 0});
}

// d = a * b.
template <class TD, class TA, class TB, unsigned M, unsigned N, unsigned K>
void simdgroup_multiply(simdgroup_matrix<TD, N, M>& d, const simdgroup_matrix<TA, K, M>& a, const simdgroup_matrix<TB, N, K>& b,
                        const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
  namespace d_ = alloy::metal_emu::detail;
  using Ops = d_::MultiplyOperands<simdgroup_matrix<TA, K, M>, simdgroup_matrix<TB, N, K>, simdgroup_matrix<TD, N, M>>;
  const Ops ops{&a, &b, nullptr};
  d_::wait(d_::LaneState::at_simd, file, line,
           alloy::metal_emu::SimdRequest{&d_::apply_multiply<TD, TA, TB, TD, M, N, K>, &ops, &d, 0});
}

}  // namespace metal
