// Random weight and activation rows for the kernel tests: weights from the project's random
// weight writer, activations like a hidden state (N(0, 3) noise with an occasional outlier
// block) converted with the engine's own activation quantization.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "backend/cpu/quant.h"
#include "core/ggml_type.h"
#include "core/random_weights.h"
#include "core/rng.h"

namespace alloy_test {

inline std::vector<float> random_activations(alloy::Rng& rng, int64_t n) {
  std::vector<float> x(static_cast<size_t>(n));
  for (float& v : x) v = 3.0f * rng.normal();
  for (int64_t i = 0; i < n; i += 32) {
    if (rng.below(8) == 0) x[static_cast<size_t>(std::min(n - 1, i + static_cast<int64_t>(rng.below(32))))] *= 50.0f;
  }
  return x;
}

inline std::vector<uint8_t> quantized(alloy::cpu::ActType type, const std::vector<float>& x) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> out(alloy::cpu::activation_row_bytes(type, n));
  alloy::cpu::quantize_activation_row(type, x.data(), n, out.data());
  return out;
}

inline std::vector<uint8_t> random_weight_row(alloy::GgmlType type, int64_t n, alloy::Rng& rng) {
  std::vector<uint8_t> row(*alloy::ggml_row_bytes(type, static_cast<uint64_t>(n)));
  alloy::fill_random_weights(type, 0.0f, 0.05f, rng, row);
  return row;
}

}  // namespace alloy_test
