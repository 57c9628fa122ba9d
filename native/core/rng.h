// A small deterministic pseudo-random generator (xoshiro256**, seeded through splitmix64).
// Used where output must be identical on every platform and standard library (random test
// models, fuzzing): only integer arithmetic and exact float scaling, no <random> distributions.
#pragma once

#include <cstdint>

namespace alloy {

// splitmix64 step: advances `state` and returns a well-mixed 64-bit value.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t state = seed;
    for (uint64_t& word : s_) word = splitmix64(state);
  }

  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  uint32_t next_u32() { return static_cast<uint32_t>(next_u64() >> 32); }
  uint8_t next_byte() { return static_cast<uint8_t>(next_u64() >> 56); }

  // Uniform integer in [0, bound) for bound > 0 (multiply-shift up to 2^32, else modulo;
  // the bias is negligible for test data and fuzzing).
  uint64_t below(uint64_t bound) {
    if (bound <= (1ull << 32)) return (static_cast<uint64_t>(next_u32()) * bound) >> 32;
    return next_u64() % bound;
  }
  // Uniform float in [0, 1) with 24 random bits (exact, no rounding differences anywhere).
  float uniform() { return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f); }
  // Approximately standard normal: Irwin-Hall sum of four uniforms, rescaled to mean 0 and
  // variance 1 (range +-3.46). Uses only +,-,* so it is bit-identical across libms.
  float normal() {
    constexpr float kSqrt3 = 1.7320508075688772f;
    return (uniform() + uniform() + uniform() + uniform() - 2.0f) * kSqrt3;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace alloy
