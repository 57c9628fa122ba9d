// The scalar and vector types of the Metal Shading Language as C++17 types, for compiling
// .metal kernels on Linux (metal_emu.h): the short scalar names, `half` as IEEE binary16 with
// round-to-nearest-even conversions (core/half.h), and the 2/3/4-element vectors with MSL's
// sizes and alignments (float3 takes 16 bytes, like float4), so structs shared with the host
// have the same layout in both worlds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "core/half.h"

namespace metal {

using uchar = unsigned char;
using ushort = unsigned short;
using uint = unsigned int;
using ulong = unsigned long;
static_assert(sizeof(ulong) == 8 && sizeof(uint) == 4 && sizeof(ushort) == 2, "MSL integer widths");

// IEEE binary16. Arithmetic between two halves rounds to half (computed in float, then rounded
// to nearest even: for + - * / binary32 is wide enough that the double rounding is exact);
// mixed with float it converts to float, as MSL's usual arithmetic conversions do.
class half {
 public:
  half() = default;
  half(float value) : bits_(alloy::float_to_f16_bits(value)) {}
  half(int value) : half(static_cast<float>(value)) {}
  operator float() const { return alloy::f16_bits_to_float(bits_); }

  static half from_bits(uint16_t bits) {
    half h;
    h.bits_ = bits;
    return h;
  }
  uint16_t bits() const { return bits_; }

 private:
  uint16_t bits_;
};
static_assert(sizeof(half) == 2 && alignof(half) == 2 && std::is_trivially_copyable_v<half>, "half layout");

// The operators take exactly two halves (templates, so no conversion picks them): half + float
// stays the built-in float addition.
template <class A, class B>
using enable_if_halves = std::enable_if_t<std::is_same_v<A, half> && std::is_same_v<B, half>, int>;
template <class A, class B, enable_if_halves<A, B> = 0>
half operator+(A a, B b) { return half(float(a) + float(b)); }
template <class A, class B, enable_if_halves<A, B> = 0>
half operator-(A a, B b) { return half(float(a) - float(b)); }
template <class A, class B, enable_if_halves<A, B> = 0>
half operator*(A a, B b) { return half(float(a) * float(b)); }
template <class A, class B, enable_if_halves<A, B> = 0>
half operator/(A a, B b) { return half(float(a) / float(b)); }
template <class A, std::enable_if_t<std::is_same_v<A, half>, int> = 0>
half operator-(A a) { return half::from_bits(static_cast<uint16_t>(a.bits() ^ 0x8000u)); }

template <class T, int N>
struct vec_fields;
template <class T>
struct vec_fields<T, 2> { T x, y; };
template <class T>
struct vec_fields<T, 3> { T x, y, z; };
template <class T>
struct vec_fields<T, 4> { T x, y, z, w; };

// MSL: a vector of 2 or 4 is aligned to its size; a vector of 3 takes the space of 4.
constexpr size_t vec_alignment(size_t scalar_bytes, int n) { return scalar_bytes * static_cast<size_t>(n == 3 ? 4 : n); }

template <class T, int N>
struct alignas(vec_alignment(sizeof(T), N)) vec : vec_fields<T, N> {
  vec() = default;
  vec(T scalar) {  // MSL widens a scalar to every component
    for (int i = 0; i < N; ++i) (*this)[i] = scalar;
  }
  template <class... A, std::enable_if_t<sizeof...(A) == N && (N > 1), int> = 0>
  vec(A... components) {
    const T values[N] = {static_cast<T>(components)...};
    for (int i = 0; i < N; ++i) (*this)[i] = values[i];
  }
  template <class U>
  explicit vec(const vec<U, N>& other) {  // float4(h4): component-wise conversion
    for (int i = 0; i < N; ++i) (*this)[i] = static_cast<T>(static_cast<U>(other[i]));
  }

  T& operator[](int i) { return const_cast<T&>(static_cast<const vec&>(*this)[i]); }
  const T& operator[](int i) const {
    switch (i) {
      case 0: return this->x;
      case 1: return this->y;
      default: break;
    }
    if constexpr (N > 2) {
      if (i == 2) return this->z;
    }
    if constexpr (N > 3) {
      if (i == 3) return this->w;
    }
    throw std::out_of_range("vector component index out of range");
  }

  friend vec operator+(vec a, const vec& b) { return a += b; }
  friend vec operator-(vec a, const vec& b) { return a -= b; }
  friend vec operator*(vec a, const vec& b) { return a *= b; }
  friend vec operator/(vec a, const vec& b) { return a /= b; }
  friend vec operator-(vec a) {
    for (int i = 0; i < N; ++i) a[i] = -a[i];
    return a;
  }
  vec& operator+=(const vec& b) { return apply(b, [](T& l, const T& r) { l = l + r; }); }
  vec& operator-=(const vec& b) { return apply(b, [](T& l, const T& r) { l = l - r; }); }
  vec& operator*=(const vec& b) { return apply(b, [](T& l, const T& r) { l = l * r; }); }
  vec& operator/=(const vec& b) { return apply(b, [](T& l, const T& r) { l = l / r; }); }

 private:
  template <class F>
  vec& apply(const vec& b, F f) {
    for (int i = 0; i < N; ++i) f((*this)[i], b[i]);
    return *this;
  }
};

template <class T, int N>
T dot(const vec<T, N>& a, const vec<T, N>& b) {
  T sum = a[0] * b[0];
  for (int i = 1; i < N; ++i) sum = sum + a[i] * b[i];
  return sum;
}

using float2 = vec<float, 2>;
using float3 = vec<float, 3>;
using float4 = vec<float, 4>;
using half2 = vec<half, 2>;
using half3 = vec<half, 3>;
using half4 = vec<half, 4>;
using int2 = vec<int, 2>;
using int3 = vec<int, 3>;
using int4 = vec<int, 4>;
using uint2 = vec<uint, 2>;
using uint3 = vec<uint, 3>;
using uint4 = vec<uint, 4>;
using short2 = vec<short, 2>;
using short4 = vec<short, 4>;
using ushort2 = vec<ushort, 2>;
using ushort3 = vec<ushort, 3>;
using ushort4 = vec<ushort, 4>;
using char2 = vec<int8_t, 2>;  // MSL char is signed; C++ char is not on AArch64
using char4 = vec<int8_t, 4>;
using uchar2 = vec<uchar, 2>;
using uchar4 = vec<uchar, 4>;

static_assert(sizeof(float3) == 16 && alignof(float4) == 16 && sizeof(half4) == 8, "MSL vector layout");
static_assert(std::is_trivially_copyable_v<float4> && std::is_standard_layout_v<float4>, "vectors are plain data");

// MSL's as_type<T>(value): the same bits read as another type of the same size. Invariant:
// both types are plain data of equal size, so copying the bytes is the reinterpretation.
template <class T, class U>
T as_type(const U& value) {
  static_assert(sizeof(T) == sizeof(U) && std::is_trivially_copyable_v<T> && std::is_trivially_copyable_v<U>,
                "as_type: plain data of one size");
  T out;
  std::memcpy(&out, &value, sizeof out);
  return out;
}

}  // namespace metal
