// Q2_K .. Q6_K x Q8_K dot products, as ggml's AVX2 kernels compute them. Per super-block of
// 256 the products scale(e) * q(e) * q8(e) land in 8 int32 lanes (element e in lane
// (e % 32) / 4, whatever 32-element chunk it is in), the lanes get one FMA with
// d = d_a * d_w into an 8-lane accumulator, and the accumulator is reduced by hsum_float_8.
// The types with mins (Q2_K, Q4_K, Q5_K) take the min term from the activation's bsums,
// each in the lanes / order of its kernel; Q6_K takes its -32 offset from the bsums too.
#include <cmath>

#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/vec_dot.h"
#include "backend/cpu/x86_float_order.h"

namespace alloy::cpu::scalar {
namespace {

// A super-block's weight quants and their integer sub-block scales, in element order.
struct SuperBlock {
  int q[kQK_K];
  int scale[kQK_K];
};

// lanes[l] = sum over elements e with (e % 32) / 4 == l of scale(e) * q(e) * q8(e).
void lane_dots(const SuperBlock& w, const int8_t (&q8)[kQK_K], int32_t (&lanes)[8]) {
  for (int32_t& lane : lanes) lane = 0;
  for (int e = 0; e < kQK_K; ++e) lanes[int32_lane_of_byte(e % 32)] += w.scale[e] * w.q[e] * q8[e];
}

template <typename Block>
const Block* blocks_of(const uint8_t* w) {
  return reinterpret_cast<const Block*>(w);  // byte-only structs: alignment 1, no padding
}

// Q4_K / Q5_K: 4-bit (+ fifth bit) quants, 6-bit scales per sub-block of 32.
template <typename Block, bool kHasFifthBit>
SuperBlock q4_k_q5_k_quants(const Block& b) {
  SuperBlock out;
  for (int e = 0; e < kQK_K; ++e) {
    out.q[e] = k_quant_nibble(b.qs, e);
    if constexpr (kHasFifthBit) out.q[e] += q5_k_fifth_bit(b.qh, e);
    out.scale[e] = k4_scale_min(b.scales, e / 32).scale;
  }
  return out;
}

// Q4_K / Q5_K min term per 128-bit lane m: mins[2m] * bsum32[2m] + mins[2m+1] * bsum32[2m+1],
// bsum32[k] the sum of the activation quants of sub-block k.
void k4_min_lanes(const uint8_t (&scales)[kKScaleBytes], const BlockQ8_K& y, int32_t (&lanes)[4]) {
  for (int m = 0; m < 4; ++m) {
    lanes[m] = 0;
    for (int k = 2 * m; k < 2 * m + 2; ++k) {
      const int bsum32 = load_q8_k_bsum(y, 2 * k) + load_q8_k_bsum(y, 2 * k + 1);
      lanes[m] += k4_scale_min(scales, k).min * bsum32;
    }
  }
}

}  // namespace

float dot_q2_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = blocks_of<BlockQ2_K>(w);
  const auto* y = blocks_of<BlockQ8_K>(a);
  FloatLanes8 acc;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float yd = load_q8_k_scale(y[i]);
    const float d = yd * load_f16(x[i].d);
    const float dmin = -yd * load_f16(x[i].dmin);
    int32_t min_lanes[8];  // lane l: mins of sub-blocks 2l and 2l + 1 times their bsums
    for (int l = 0; l < 8; ++l) {
      min_lanes[l] = (x[i].scales[2 * l] >> 4) * load_q8_k_bsum(y[i], 2 * l) +
                     (x[i].scales[2 * l + 1] >> 4) * load_q8_k_bsum(y[i], 2 * l + 1);
    }
    acc.fma_scaled(dmin, min_lanes);
    SuperBlock sb;
    for (int e = 0; e < kQK_K; ++e) {
      sb.q[e] = k_quant_crumb(x[i].qs, e);
      sb.scale[e] = x[i].scales[e / 16] & 0xF;
    }
    int32_t lanes[8];
    lane_dots(sb, y[i].qs, lanes);
    acc.fma_scaled(d, lanes);
  }
  return acc.hsum();
}

float dot_q3_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = blocks_of<BlockQ3_K>(w);
  const auto* y = blocks_of<BlockQ8_K>(a);
  FloatLanes8 acc;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = load_q8_k_scale(y[i]) * load_f16(x[i].d);
    int scales[16];
    q3_k_scales(x[i].scales, scales);
    SuperBlock sb;
    for (int e = 0; e < kQK_K; ++e) {
      sb.q[e] = k_quant_crumb(x[i].qs, e) - (q3_k_high_bit(x[i].hmask, e) ? 0 : 4);
      sb.scale[e] = scales[e / 16];
    }
    int32_t lanes[8];
    lane_dots(sb, y[i].qs, lanes);
    acc.fma_scaled(d, lanes);
  }
  return acc.hsum();
}

float dot_q4_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = blocks_of<BlockQ4_K>(w);
  const auto* y = blocks_of<BlockQ8_K>(a);
  FloatLanes8 acc;
  float acc_min[4] = {0, 0, 0, 0};  // a __m128 accumulator
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float yd = load_q8_k_scale(y[i]);
    const float d = yd * load_f16(x[i].d);
    const float dmin = -yd * load_f16(x[i].dmin);
    int32_t min_lanes[4];
    k4_min_lanes(x[i].scales, y[i], min_lanes);
    for (int m = 0; m < 4; ++m) acc_min[m] = std::fma(dmin, static_cast<float>(min_lanes[m]), acc_min[m]);
    int32_t lanes[8];
    lane_dots(q4_k_q5_k_quants<BlockQ4_K, false>(x[i]), y[i].qs, lanes);
    acc.fma_scaled(d, lanes);
  }
  return acc.hsum() + hsum_float_4(acc_min);
}

float dot_q5_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = blocks_of<BlockQ5_K>(w);
  const auto* y = blocks_of<BlockQ8_K>(a);
  FloatLanes8 acc;
  float min_sum = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float yd = load_q8_k_scale(y[i]);
    const float d = yd * load_f16(x[i].d);
    const float dmin = -yd * load_f16(x[i].dmin);
    int32_t min_lanes[4];
    k4_min_lanes(x[i].scales, y[i], min_lanes);
    const int32_t min_total = min_lanes[0] + min_lanes[1] + min_lanes[2] + min_lanes[3];
    // `summs += dmin * total` in ggml, which GCC contracts into one FMA (checked against
    // llama.cpp's binaries: the unfused form differs).
    min_sum = std::fma(dmin, static_cast<float>(min_total), min_sum);
    int32_t lanes[8];
    lane_dots(q4_k_q5_k_quants<BlockQ5_K, true>(x[i]), y[i].qs, lanes);
    acc.fma_scaled(d, lanes);
  }
  return acc.hsum() + min_sum;
}

float dot_q6_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = blocks_of<BlockQ6_K>(w);
  const auto* y = blocks_of<BlockQ8_K>(a);
  FloatLanes8 acc;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = load_q8_k_scale(y[i]) * load_f16(x[i].d);
    SuperBlock sb;  // unsigned 6-bit quants; the -32 comes from the bsums below
    for (int e = 0; e < kQK_K; ++e) {
      sb.q[e] = q6_k_quant(x[i], e);
      sb.scale[e] = x[i].scales[e / 16];
    }
    int32_t lanes[8];
    lane_dots(sb, y[i].qs, lanes);
    for (int l = 0; l < 8; ++l) {  // lane l: 32 * scaled bsums of sub-blocks 2l and 2l + 1
      lanes[l] -= 32 * (load_q8_k_bsum(y[i], 2 * l) * x[i].scales[2 * l] +
                        load_q8_k_bsum(y[i], 2 * l + 1) * x[i].scales[2 * l + 1]);
    }
    acc.fma_scaled(d, lanes);
  }
  return acc.hsum();
}

}  // namespace alloy::cpu::scalar
