// f16 / bf16 conversions (core/half.h): round trips over every 16-bit pattern, rounding at
// ties and at the range limits, and agreement with the F16C instructions (the conversions
// llama.cpp's x86 CPU backend uses) on every f16 value and a million random floats.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "check.h"
#include "core/half.h"
#include "core/rng.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

using namespace alloy;

namespace {

uint32_t bits_of(float v) {
  uint32_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}
float float_of(uint32_t b) {
  float v = 0;
  std::memcpy(&v, &b, sizeof v);
  return v;
}
bool is_f16_nan(uint16_t h) { return (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0; }

}  // namespace

TEST_CASE("every f16 value converts to f32 and back unchanged (NaNs stay NaN)") {
  for (uint32_t h = 0; h <= 0xFFFFu; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    const float f = f16_bits_to_float(bits);
    if (is_f16_nan(bits)) {
      CHECK(std::isnan(f));
      CHECK(is_f16_nan(float_to_f16_bits(f)));
    } else {
      CHECK_EQ(float_to_f16_bits(f), bits);
    }
  }
  CHECK_EQ(f16_bits_to_float(0x0001), std::ldexp(1.0f, -24));
  CHECK_EQ(f16_bits_to_float(0x7BFF), 65504.0f);
  CHECK_EQ(f16_bits_to_float(0xC000), -2.0f);
  CHECK(std::isinf(f16_bits_to_float(0xFC00)) && f16_bits_to_float(0xFC00) < 0);
}

TEST_CASE("every bf16 value converts to f32 and back unchanged; ties round to even") {
  for (uint32_t h = 0; h <= 0xFFFFu; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    const float f = bf16_bits_to_float(bits);
    CHECK_EQ(bits_of(f), h << 16);
    if (!std::isnan(f)) CHECK_EQ(float_to_bf16_bits(f), bits);
  }
  CHECK_EQ(float_to_bf16_bits(float_of(0x3F808000u)), 0x3F80);  // tie, even stays
  CHECK_EQ(float_to_bf16_bits(float_of(0x3F818000u)), 0x3F82);  // tie, odd rounds up
  CHECK_EQ(float_to_bf16_bits(float_of(0x3F808001u)), 0x3F81);  // above the tie
  CHECK_EQ(float_to_bf16_bits(float_of(0x7F7FFFFFu)), 0x7F80);  // largest float rounds to infinity
  CHECK_EQ(float_to_bf16_bits(float_of(0x7F800001u)), 0x7FC0);  // signalling NaN made quiet
}

#if defined(__F16C__)
TEST_CASE("f16 conversions agree with the F16C instructions bit for bit") {
  if (!__builtin_cpu_supports("f16c")) {
    std::printf("skipped on this CPU: no F16C\n");
    return;
  }
  for (uint32_t h = 0; h <= 0xFFFFu; ++h) {
    const float ours = f16_bits_to_float(static_cast<uint16_t>(h));
    const float hardware = _cvtsh_ss(static_cast<unsigned short>(h));
    CHECK_EQ(bits_of(ours), bits_of(hardware));
  }
  Rng rng(99);
  for (int i = 0; i < 1000000; ++i) {
    // Every float bit pattern class: random exponents cover overflow, subnormal and zero results.
    const float f = float_of(static_cast<uint32_t>(rng.next_u64()));
    const uint16_t hardware = static_cast<uint16_t>(_cvtss_sh(f, 0));
    if (float_to_f16_bits(f) != hardware) {
      alloy_test::report_failure(__FILE__, __LINE__, "f16 rounding differs from F16C for bits " + std::to_string(bits_of(f)));
      break;
    }
    // Near the f16 range, where the rounding decisions are.
    const float g = std::ldexp(rng.uniform() * 2 - 1, static_cast<int>(rng.below(44)) - 27);
    CHECK_EQ(float_to_f16_bits(g), static_cast<uint16_t>(_cvtss_sh(g, 0)));
  }
}
#endif
