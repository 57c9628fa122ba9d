// Q4_0 / Q5_0 / Q8_0 x Q8_0 and Q4_1 / Q5_1 x Q8_1 dot products, as ggml's AVX2 kernels
// compute them: per block of 32 the integer products land in 8 int32 lanes (elements
// 4l..4l+3 in lane l), the lanes are scaled by the block's float scale with one FMA into an
// 8-lane accumulator, and the accumulator is reduced by hsum_float_8 at the end. The min
// term of Q4_1 / Q5_1 (m * s per block) is summed separately in a scalar float.
#include <cmath>

#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/vec_dot.h"
#include "backend/cpu/x86_float_order.h"

namespace alloy::cpu::scalar {
namespace {

// Weight quants of one block of 32 in element order (already offset for Q4_0 / Q5_0).
struct BlockQuants {
  int q[kQK];
};

// Weight quants of Q4_0 .. Q5_1: the nibble (+ fifth bit), minus the type's offset.
template <typename Block, bool kHasFifthBit>
BlockQuants legacy_quants(const Block& b, int offset) {
  BlockQuants out;
  for (int e = 0; e < kQK; ++e) {
    out.q[e] = legacy_nibble(b.qs, e) - offset;
    if constexpr (kHasFifthBit) out.q[e] += legacy_fifth_bit(b.qh, e);
  }
  return out;
}

// Per-lane integer dot products of a block's weight quants with its activation quants.
void lane_dots(const BlockQuants& w, const int8_t (&a)[kQK], int32_t (&lanes)[8]) {
  for (int32_t& lane : lanes) lane = 0;
  for (int e = 0; e < kQK; ++e) lanes[int32_lane_of_byte(e)] += w.q[e] * a[e];
}

// The kernels for Q8_0 activations: acc += (d_w * d_a) * lanes.
template <typename Block, BlockQuants (*Quants)(const Block&)>
float dot_with_q8_0(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const Block*>(w);  // byte-only structs: alignment 1
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a);
  FloatLanes8 acc;
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = load_f16(x[i].d) * load_f16(y[i].d);
    int32_t lanes[8];
    lane_dots(Quants(x[i]), y[i].qs, lanes);
    acc.fma_scaled(d, lanes);
  }
  return acc.hsum();
}

// The kernels for Q8_1 activations: acc += (d_w * d_a) * lanes, plus sum of m_w * s_a.
template <typename Block, BlockQuants (*Quants)(const Block&)>
float dot_with_q8_1(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const Block*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_1*>(a);
  FloatLanes8 acc;
  float min_sum = 0;
  for (int64_t i = 0; i < n / kQK; ++i) {
    // `summs += m * s` in ggml; the product of two f16 values is exact in float, so the add
    // is the only rounding, fused or not.
    min_sum = std::fma(load_f16(x[i].m), load_f16(y[i].s), min_sum);
    const float d = load_f16(x[i].d) * load_f16(y[i].d);
    int32_t lanes[8];
    lane_dots(Quants(x[i]), y[i].qs, lanes);
    acc.fma_scaled(d, lanes);
  }
  return acc.hsum() + min_sum;
}

BlockQuants q4_0_quants(const BlockQ4_0& b) { return legacy_quants<BlockQ4_0, false>(b, 8); }
BlockQuants q4_1_quants(const BlockQ4_1& b) { return legacy_quants<BlockQ4_1, false>(b, 0); }
BlockQuants q5_0_quants(const BlockQ5_0& b) { return legacy_quants<BlockQ5_0, true>(b, 16); }
BlockQuants q5_1_quants(const BlockQ5_1& b) { return legacy_quants<BlockQ5_1, true>(b, 0); }
BlockQuants q8_0_quants(const BlockQ8_0& b) {
  BlockQuants out;
  for (int e = 0; e < kQK; ++e) out.q[e] = b.qs[e];
  return out;
}

}  // namespace

float dot_q4_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n) {
  return dot_with_q8_0<BlockQ4_0, q4_0_quants>(w, a, n);
}
float dot_q5_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n) {
  return dot_with_q8_0<BlockQ5_0, q5_0_quants>(w, a, n);
}
float dot_q8_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n) {
  return dot_with_q8_0<BlockQ8_0, q8_0_quants>(w, a, n);
}
float dot_q4_1_q8_1(const uint8_t* w, const uint8_t* a, int64_t n) {
  return dot_with_q8_1<BlockQ4_1, q4_1_quants>(w, a, n);
}
float dot_q5_1_q8_1(const uint8_t* w, const uint8_t* a, int64_t n) {
  return dot_with_q8_1<BlockQ5_1, q5_1_quants>(w, a, n);
}

}  // namespace alloy::cpu::scalar
