// Random tensor data for test models, for every weight type the engine computes with.
// Deterministic for a given Rng state on every platform (integer PRNG, exact arithmetic).
#pragma once

#include <cstdint>
#include <vector>

#include "ggml_type.h"
#include "half.h"  // float_to_f16_bits / float_to_bf16_bits, used by callers of this header
#include "rng.h"

namespace alloy {

// Fills `out` (its size must be a whole number of `type` blocks) with random data whose
// values have about the given mean and standard deviation:
//  * F32, F16, BF16: mean + std * (approximately normal), rounded to the type.
//  * block types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K): every quant
//    and sub-block scale bit random (so K-quant 6-bit scales take any value), and per block
//    an f16 scale d (and min / dmin) drawn so the dequantized values have mean ~0 and about
//    the requested std: |d| varies by 0.5x..1.5x between blocks; d is >= 0 for types with a
//    min field (Q4_1/Q5_1 m <= 0, K-quant dmin >= 0), of random sign for the others. Every
//    f16 field is finite. `mean` must be 0 for block types.
// Throws Error(unsupported_tensor_type) for other types, Error(invalid_argument) for a bad
// size, a non-finite or negative std, or a non-zero mean with a block type.
void fill_random_weights(GgmlType type, float mean, float std, Rng& rng, std::vector<uint8_t>& out);

}  // namespace alloy
