// The vector loops of the AVX2 and AVX-512 row kernels (SwiGLU, RoPE), written once over a
// vector type V:
//   V::Reg, V::kLanes; load / store (kLanes floats); set1, zero; add, sub, mul, div;
//   fmadd (a * b + c), fmsub (a * b - c); exp (ggml_vector_expf on every lane);
//   deinterleave(lo, hi, even, odd): the even and odd elements of 2 * kLanes floats, in order;
//   interleave(even, odd, lo, hi): the inverse.
// Each lane performs the scalar emulation's operations (cpu_kernels.cpp), so the results are
// bit-identical to it. Include only from the files compiled for those instruction sets
// (x86_simd.h says why): everything here has internal linkage.
#pragma once

#include "backend/backend.h"
#include "backend/cpu/cpu_kernels.h"

namespace alloy::cpu::simd {
namespace {  // NOLINT(build/namespaces): one copy per instruction-set file, on purpose

// swiglu_row's 16-float groups: silu(gate) * up with silu(x) = x / (1 + exp(0 - x)); returns
// how many elements it wrote (n - n % 16).
template <class V>
int swiglu_vector_part(const float* gate, const float* up, int n, float* out) {
  const int vector_end = n - n % kGgmlVectorWidth;
  const typename V::Reg one = V::set1(1.0f);
  for (int i = 0; i < vector_end; i += V::kLanes) {
    const typename V::Reg x = V::load(gate + i);
    const typename V::Reg silu = V::div(x, V::add(one, V::exp(V::sub(V::zero(), x))));
    V::store(out + i, V::mul(silu, V::load(up + i)));
  }
  return vector_end;
}

// rope_head for the first pairs, kLanes at a time; returns how many pairs it rotated. Each pair
// (x0, x1) becomes (fma(x0, cos, -(x1 * sin)), fma(x0, sin, x1 * cos)); fma(x0, c, -round(x1 * s))
// is one rounding of x0 * c - round(x1 * s), which is VFMSUB.
template <class V>
int rope_vector_part(float* x, const float* cache, const RopeParams& params) {
  constexpr int kLanes = V::kLanes;
  const int half = params.n_rot / 2, full = half - half % kLanes;
  for (int p = 0; p < full; p += kLanes) {
    typename V::Reg c, s;
    V::deinterleave(V::load(cache + 2 * p), V::load(cache + 2 * p + kLanes), c, s);
    switch (params.mode) {
      case RopeMode::normal: {
        typename V::Reg x0, x1, lo, hi;
        V::deinterleave(V::load(x + 2 * p), V::load(x + 2 * p + kLanes), x0, x1);
        V::interleave(V::fmsub(x0, c, V::mul(x1, s)), V::fmadd(x0, s, V::mul(x1, c)), lo, hi);
        V::store(x + 2 * p, lo);
        V::store(x + 2 * p + kLanes, hi);
        break;
      }
      case RopeMode::neox: {
        const typename V::Reg x0 = V::load(x + p), x1 = V::load(x + p + half);
        V::store(x + p, V::fmsub(x0, c, V::mul(x1, s)));
        V::store(x + p + half, V::fmadd(x0, s, V::mul(x1, c)));
        break;
      }
    }
  }
  return full;
}

}  // namespace
}  // namespace alloy::cpu::simd
