// ggml tensor element types as stored in GGUF files: ids, names and storage sizes.
// The reader knows every type llama.cpp can write (so it can validate sizes); which of
// them the engine can compute with is a separate question (is_supported_weight_type).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace alloy {

enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39,
};

struct GgmlTypeTraits {
  std::string_view name;   // "Q8_0", as llama.cpp prints it
  uint32_t block_elems;    // elements per block (1 for plain types)
  uint32_t block_bytes;    // bytes per block
};

// Traits of a raw type id, or nullopt if the id is not a ggml type.
std::optional<GgmlTypeTraits> ggml_type_traits(uint32_t raw_type);
GgmlTypeTraits ggml_type_traits(GgmlType type);
std::string_view ggml_type_name(GgmlType type);
std::optional<GgmlType> ggml_type_from_name(std::string_view name);

// The case labels of every GgmlType the engine does not compute with, so exhaustive switches
// over the supported types can name the rest in one line. Keep in sync with the enum: the
// compiler's -Wswitch warns about any type missing from a switch that uses this.
#define ALLOY_UNSUPPORTED_WEIGHT_TYPE_CASES                                                   \
  case GgmlType::Q8_1: case GgmlType::Q8_K: case GgmlType::IQ2_XXS: case GgmlType::IQ2_XS:    \
  case GgmlType::IQ3_XXS: case GgmlType::IQ1_S: case GgmlType::IQ4_NL: case GgmlType::IQ3_S:  \
  case GgmlType::IQ2_S: case GgmlType::IQ4_XS: case GgmlType::I8: case GgmlType::I16:         \
  case GgmlType::I32: case GgmlType::I64: case GgmlType::F64: case GgmlType::IQ1_M:           \
  case GgmlType::TQ1_0: case GgmlType::TQ2_0: case GgmlType::MXFP4

// Weight types the engine computes with (the supported-quant table in README.md).
bool is_supported_weight_type(GgmlType type);

// Bytes of a row of n elements, or nullopt if n is not a multiple of the block size
// or the result overflows.
std::optional<uint64_t> ggml_row_bytes(GgmlType type, uint64_t n_elems);

}  // namespace alloy
