// Row dequantization of every weight type (quant.h: dequantize_row), with ggml's reference
// float arithmetic (dequantize_row_* in ggml-quants.c), which llama.cpp's get_rows uses.
#include "backend/cpu/quant.h"

#include <cstring>
#include <string>

#include "backend/cpu/quant_blocks.h"
#include "core/error.h"

// Every product and sum below is its own statement: ggml's reference code rounds after each
// operation, and a fused multiply-add (which compilers may form inside one expression)
// would change results.

namespace alloy::cpu {
namespace {

template <typename Block>
const Block* blocks_of(const uint8_t* src) {
  return reinterpret_cast<const Block*>(src);  // byte-only structs: alignment 1, no padding
}

void dequantize_q4_0(const uint8_t* src, float* y, int64_t nb) {
  for (const BlockQ4_0* b = blocks_of<BlockQ4_0>(src); nb-- > 0; ++b) {
    const float d = load_f16(b->d);
    for (int e = 0; e < kQK; ++e) *y++ = static_cast<float>(legacy_nibble(b->qs, e) - 8) * d;
  }
}

void dequantize_q4_1(const uint8_t* src, float* y, int64_t nb) {
  for (const BlockQ4_1* b = blocks_of<BlockQ4_1>(src); nb-- > 0; ++b) {
    const float d = load_f16(b->d);
    const float m = load_f16(b->m);
    for (int e = 0; e < kQK; ++e) {
      const float scaled = static_cast<float>(legacy_nibble(b->qs, e)) * d;
      *y++ = scaled + m;
    }
  }
}

void dequantize_q5_0(const uint8_t* src, float* y, int64_t nb) {
  for (const BlockQ5_0* b = blocks_of<BlockQ5_0>(src); nb-- > 0; ++b) {
    const float d = load_f16(b->d);
    for (int e = 0; e < kQK; ++e) {
      *y++ = static_cast<float>((legacy_nibble(b->qs, e) | legacy_fifth_bit(b->qh, e)) - 16) * d;
    }
  }
}

void dequantize_q5_1(const uint8_t* src, float* y, int64_t nb) {
  for (const BlockQ5_1* b = blocks_of<BlockQ5_1>(src); nb-- > 0; ++b) {
    const float d = load_f16(b->d);
    const float m = load_f16(b->m);
    for (int e = 0; e < kQK; ++e) {
      const float scaled = static_cast<float>(legacy_nibble(b->qs, e) | legacy_fifth_bit(b->qh, e)) * d;
      *y++ = scaled + m;
    }
  }
}

void dequantize_q8_0(const uint8_t* src, float* y, int64_t nb) {
  for (const BlockQ8_0* b = blocks_of<BlockQ8_0>(src); nb-- > 0; ++b, y += kQK) {
    const float d = load_f16(b->d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b->qs[j]) * d;
  }
}

void dequantize_q2_k(const uint8_t* src, float* y, int64_t nb) {
  for (const BlockQ2_K* b = blocks_of<BlockQ2_K>(src); nb-- > 0; ++b) {
    const float d = load_f16(b->d);
    const float dmin = load_f16(b->dmin);
    for (int e = 0; e < kQK_K; ++e) {
      const int sc = b->scales[e / 16];
      const float dl = d * static_cast<float>(sc & 0xF);
      const float ml = dmin * static_cast<float>(sc >> 4);
      const float scaled = dl * static_cast<float>(k_quant_crumb(b->qs, e));
      *y++ = scaled - ml;
    }
  }
}

void dequantize_q3_k(const uint8_t* src, float* y, int64_t nb) {
  for (const BlockQ3_K* b = blocks_of<BlockQ3_K>(src); nb-- > 0; ++b) {
    const float d = load_f16(b->d);
    int scales[16];
    q3_k_scales(b->scales, scales);
    for (int e = 0; e < kQK_K; ++e) {
      const int q = k_quant_crumb(b->qs, e) - (q3_k_high_bit(b->hmask, e) ? 0 : 4);
      const float dl = d * static_cast<float>(scales[e / 16]);
      *y++ = dl * static_cast<float>(q);
    }
  }
}

// Q4_K and Q5_K: x = (d * scale) * q - (dmin * min) per sub-block of 32.
template <typename Block, bool kHasFifthBit>
void dequantize_q4_k_q5_k(const uint8_t* src, float* y, int64_t nb) {
  for (const Block* b = blocks_of<Block>(src); nb-- > 0; ++b) {
    const float d = load_f16(b->d);
    const float dmin = load_f16(b->dmin);
    for (int sub = 0; sub < 8; ++sub) {
      const ScaleMin sm = k4_scale_min(b->scales, sub);
      const float ds = d * static_cast<float>(sm.scale);
      const float dm = dmin * static_cast<float>(sm.min);
      for (int e = 32 * sub; e < 32 * sub + 32; ++e) {
        int q = k_quant_nibble(b->qs, e);
        if constexpr (kHasFifthBit) q += q5_k_fifth_bit(b->qh, e);
        const float scaled = ds * static_cast<float>(q);
        *y++ = scaled - dm;
      }
    }
  }
}

void dequantize_q6_k(const uint8_t* src, float* y, int64_t nb) {
  for (const BlockQ6_K* b = blocks_of<BlockQ6_K>(src); nb-- > 0; ++b) {
    const float d = load_f16(b->d);
    for (int e = 0; e < kQK_K; ++e) {
      const float ds = d * static_cast<float>(b->scales[e / 16]);
      *y++ = ds * static_cast<float>(q6_k_quant(*b, e) - 32);
    }
  }
}

void convert_f16(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t bits = 0;
    std::memcpy(&bits, src + 2 * i, sizeof bits);
    y[i] = f16_bits_to_float(bits);
  }
}

void convert_bf16(const uint8_t* src, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t bits = 0;
    std::memcpy(&bits, src + 2 * i, sizeof bits);
    y[i] = bf16_bits_to_float(bits);
  }
}

}  // namespace

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  switch (type) {
    case GgmlType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case GgmlType::F16: convert_f16(src, dst, n); return;
    case GgmlType::BF16: convert_bf16(src, dst, n); return;
    case GgmlType::Q4_0: dequantize_q4_0(src, dst, n / kQK); return;
    case GgmlType::Q4_1: dequantize_q4_1(src, dst, n / kQK); return;
    case GgmlType::Q5_0: dequantize_q5_0(src, dst, n / kQK); return;
    case GgmlType::Q5_1: dequantize_q5_1(src, dst, n / kQK); return;
    case GgmlType::Q8_0: dequantize_q8_0(src, dst, n / kQK); return;
    case GgmlType::Q2_K: dequantize_q2_k(src, dst, n / kQK_K); return;
    case GgmlType::Q3_K: dequantize_q3_k(src, dst, n / kQK_K); return;
    case GgmlType::Q4_K: dequantize_q4_k_q5_k<BlockQ4_K, false>(src, dst, n / kQK_K); return;
    case GgmlType::Q5_K: dequantize_q4_k_q5_k<BlockQ5_K, true>(src, dst, n / kQK_K); return;
    case GgmlType::Q6_K: dequantize_q6_k(src, dst, n / kQK_K); return;
    ALLOY_UNSUPPORTED_WEIGHT_TYPE_CASES:
      break;
  }
  throw Error(ErrorKind::unsupported_tensor_type,
              "cannot dequantize " + std::string(ggml_type_name(type)) + " tensors");
}

}  // namespace alloy::cpu
