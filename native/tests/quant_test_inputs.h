// Fixed inputs of the quantization known-answer tests (test_quant_known_answers.cpp). The
// expected outputs pinned there were computed from these inputs by llama.cpp's own CPU
// backend (node-llama-cpp 3.22.1's libggml-cpu-haswell.so, llama.cpp de3ff815ea7d); the
// input hashes are pinned too, so a change here shows up as "inputs changed", not as a
// kernel bug.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/ggml_type.h"
#include "core/random_weights.h"
#include "core/rng.h"

namespace alloy_test {

constexpr int64_t kKnownRowLength = 512;  // two Q8_K super-blocks, sixteen Q8_0 blocks

// An activation row: element 0 is 127, the largest magnitude of both its Q8_0 block and its
// Q8_K super-block, so both scales are exactly 1 and elements 1..31, multiples of 0.5 (the
// odd ones on ties), show the rounding mode: half to even gives 2.5 -> 2 and 0.5 -> 0, half
// away from zero would give 3 and 1. Element 256 is -100, the Q8_K max of the second
// super-block (a negative max flips the sign of iscale). The rest is noise with std 3.
inline std::vector<float> known_activation_row() {
  std::vector<float> x(kKnownRowLength);
  alloy::Rng rng(2024);
  for (float& v : x) v = 3.0f * rng.normal();
  x[0] = 127.0f;
  for (int i = 1; i < 32; ++i) x[i] = static_cast<float>(i % 4 < 2 ? i : -i) * 0.5f;  // 0.5, -1, -1.5, 2, 2.5, ...
  x[256] = -100.0f;
  return x;
}

// A weight row of `type` with every quant and sub-block scale bit random (random_weights.h).
inline std::vector<uint8_t> known_weight_row(alloy::GgmlType type, int64_t n) {
  std::vector<uint8_t> row(*alloy::ggml_row_bytes(type, static_cast<uint64_t>(n)));
  alloy::Rng rng(100 + static_cast<uint64_t>(type));
  alloy::fill_random_weights(type, 0.0f, 0.05f, rng, row);
  return row;
}

// FNV-1a over bytes, to pin inputs compactly.
inline uint64_t fnv1a(const void* data, size_t size) {
  uint64_t h = 0xcbf29ce484222325ull;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

inline uint32_t float_bits(float v) {
  uint32_t b = 0;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

}  // namespace alloy_test
