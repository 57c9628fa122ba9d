#include "random_weights.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>

#include "error.h"
#include "half.h"

namespace alloy {
namespace {

// A uniformly distributed integer in [lo, hi]: the moments the std estimate needs.
struct IntRange {
  int lo;
  int hi;
  double mean() const { return (lo + hi) / 2.0; }
  double second_moment() const {
    double sum = 0;
    for (int k = lo; k <= hi; ++k) sum += static_cast<double>(k) * k;
    return sum / (hi - lo + 1);
  }
  double variance() const { return second_moment() - mean() * mean(); }
};

// How a block type dequantizes, reduced to what random generation needs. A value is
//   d * S * Q  (+ min_field * M)
// with S the sub-block scale, Q the quant (after its fixed offset) and M the sub-block min
// multiplier, all uniform over their ranges when the block's bits are random. The min field
// (Q4_1/Q5_1 `m`, added; K-quant `dmin`, subtracted) is set per block to cancel the mean;
// types without one get a random sign of d instead.
struct BlockRecipe {
  uint32_t d_offset;   // byte offset of the f16 super-block scale d
  int min_offset;      // byte offset of the f16 min / dmin field, -1 if none
  bool min_subtracted; // K-quants subtract dmin * M; Q4_1/Q5_1 add m
  IntRange scale;
  IntRange quant;
  IntRange min;
};

// Floats are IEEE-754 binary32 on every target (x86-64, arm64); bytes are written little-endian.
uint32_t bits_of(float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

void put_u16(std::vector<uint8_t>& out, size_t offset, uint16_t v) {
  out.at(offset) = static_cast<uint8_t>(v);
  out.at(offset + 1) = static_cast<uint8_t>(v >> 8);
}

void put_u32(std::vector<uint8_t>& out, size_t offset, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) out.at(offset + i) = static_cast<uint8_t>(v >> (8 * i));
}

void put_f32(std::vector<uint8_t>& out, size_t offset, float v) { put_u32(out, offset, bits_of(v)); }
void put_f16(std::vector<uint8_t>& out, size_t offset, float v) { put_u16(out, offset, float_to_f16_bits(v)); }
void put_bf16(std::vector<uint8_t>& out, size_t offset, float v) { put_u16(out, offset, float_to_bf16_bits(v)); }

// How to generate one type: element by element (plain types) or block by block.
struct Generator {
  void (*put_value)(std::vector<uint8_t>& out, size_t offset, float value) = nullptr;
  std::optional<BlockRecipe> block;
};

Generator generator_for(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return {put_f32, std::nullopt};
    case GgmlType::F16: return {put_f16, std::nullopt};
    case GgmlType::BF16: return {put_bf16, std::nullopt};
    case GgmlType::Q8_0: return {nullptr, BlockRecipe{0, -1, false, {1, 1}, {-128, 127}, {0, 0}}};
    case GgmlType::Q4_0: return {nullptr, BlockRecipe{0, -1, false, {1, 1}, {-8, 7}, {0, 0}}};
    case GgmlType::Q4_1: return {nullptr, BlockRecipe{0, 2, false, {1, 1}, {0, 15}, {1, 1}}};
    case GgmlType::Q5_0: return {nullptr, BlockRecipe{0, -1, false, {1, 1}, {-16, 15}, {0, 0}}};
    case GgmlType::Q5_1: return {nullptr, BlockRecipe{0, 2, false, {1, 1}, {0, 31}, {1, 1}}};
    // block_q2_K: scales[16] (4-bit scale | 4-bit min), qs[64], d, dmin.
    case GgmlType::Q2_K: return {nullptr, BlockRecipe{80, 82, true, {0, 15}, {0, 3}, {0, 15}}};
    // block_q3_K: hmask[32], qs[64], scales[12] (6-bit, minus 32), d; quants 3-bit minus 4.
    case GgmlType::Q3_K: return {nullptr, BlockRecipe{108, -1, false, {-32, 31}, {-4, 3}, {0, 0}}};
    // block_q4_K / block_q5_K: d, dmin, scales[12] (6-bit scales and mins), [qh[32],] qs[128].
    case GgmlType::Q4_K: return {nullptr, BlockRecipe{0, 2, true, {0, 63}, {0, 15}, {0, 63}}};
    case GgmlType::Q5_K: return {nullptr, BlockRecipe{0, 2, true, {0, 63}, {0, 31}, {0, 63}}};
    // block_q6_K: ql[128], qh[64], scales[16] (int8), d; quants 6-bit minus 32.
    case GgmlType::Q6_K: return {nullptr, BlockRecipe{208, -1, false, {-128, 127}, {-32, 31}, {0, 0}}};
    ALLOY_UNSUPPORTED_WEIGHT_TYPE_CASES:
      return {};
  }
  return {};
}

void fill_random_bytes(Rng& rng, std::vector<uint8_t>& out) {
  for (size_t i = 0; i < out.size(); i += 8) {
    const uint64_t v = rng.next_u64();
    for (size_t j = 0; j < 8 && i + j < out.size(); ++j) out[i + j] = static_cast<uint8_t>(v >> (8 * j));
  }
}

void fill_blocks(const BlockRecipe& recipe, uint32_t block_bytes, float std, Rng& rng, std::vector<uint8_t>& out) {
  // Mean of d * S * Q is cancelled by the min field: |min| = d * E[S] * E[Q] / E[M].
  const double min_ratio = recipe.min_offset >= 0 ? recipe.scale.mean() * recipe.quant.mean() / recipe.min.mean() : 0.0;
  // Variance for |d| = 1. With a min field: Var(S*Q) + min_ratio^2 * Var(M); without one the
  // random sign of d makes the mean 0, so it is E[(S*Q)^2].
  const double product_mean = recipe.scale.mean() * recipe.quant.mean();
  const double product_second_moment = recipe.scale.second_moment() * recipe.quant.second_moment();
  const double unit_variance =
      recipe.min_offset >= 0
          ? product_second_moment - product_mean * product_mean + min_ratio * min_ratio * recipe.min.variance()
          : product_second_moment;
  // Each block's d is base_d * (0.5 + u), u ~ U[0, 1): E[(0.5 + u)^2] = 13/12.
  const double base_d = std / std::sqrt(unit_variance * 13.0 / 12.0);
  constexpr double kMaxF16 = 65504.0;
  const double max_d = kMaxF16 / std::max(1.0, min_ratio);

  fill_random_bytes(rng, out);
  for (size_t block = 0; block < out.size(); block += block_bytes) {
    double d = std::min(max_d, base_d * (0.5 + rng.uniform()));
    // Without a min field the quant range is asymmetric ([-8, 7] for Q4_0); a random sign
    // of d cancels that mean, as real quantizers' signed scales do.
    if (recipe.min_offset < 0 && (rng.next_u32() & 1u) != 0) d = -d;
    put_u16(out, block + recipe.d_offset, float_to_f16_bits(static_cast<float>(d)));
    if (recipe.min_offset >= 0) {
      const double min_field = recipe.min_subtracted ? d * min_ratio : -d * min_ratio;
      put_u16(out, block + static_cast<size_t>(recipe.min_offset), float_to_f16_bits(static_cast<float>(min_field)));
    }
  }
}

}  // namespace

void fill_random_weights(GgmlType type, float mean, float std, Rng& rng, std::vector<uint8_t>& out) {
  if (!std::isfinite(std) || std < 0 || !std::isfinite(mean)) {
    throw Error(ErrorKind::invalid_argument, "random weights need a finite mean and a finite std >= 0");
  }
  const GgmlTypeTraits traits = ggml_type_traits(type);
  if (out.size() % traits.block_bytes != 0) {
    throw Error(ErrorKind::invalid_argument, std::to_string(out.size()) + " bytes is not a whole number of " +
                                                 std::string(traits.name) + " blocks");
  }
  const Generator generator = generator_for(type);
  if (generator.put_value != nullptr) {
    for (size_t offset = 0; offset < out.size(); offset += traits.block_bytes) {
      generator.put_value(out, offset, mean + std * rng.normal());
    }
    return;
  }
  if (!generator.block) {
    throw Error(ErrorKind::unsupported_tensor_type,
                "cannot generate random " + std::string(traits.name) + " weights");
  }
  if (mean != 0.0f) {
    throw Error(ErrorKind::invalid_argument, "random " + std::string(traits.name) + " weights have mean 0");
  }
  fill_blocks(*generator.block, traits.block_bytes, std, rng, out);
}

}  // namespace alloy
