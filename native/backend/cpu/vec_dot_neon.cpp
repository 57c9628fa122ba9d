// NEON (AArch64 + dot-product extension: Apple M1 and later, Arm v8.2+ servers) versions of
// the hot dot-product kernels (F16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K). They perform the
// operations of the scalar reference (vec_dot_*.cpp) in the same int32 lanes and float order,
// so they agree with it bit for bit; test_quant checks that.
//   - An int32 lane is the sum of 4 consecutive int8 products: SDOT (vdotq_s32) groups bytes
//     4l..4l+3 into lane l, exactly as the reference's int32_lane_of_byte. Integer sums are
//     exact, so only which products share a lane matters, not the order of the adds.
//   - The reference's 8 float lanes (one __m256) are held as two float32x4_t, lanes 0-3 and
//     4-7, updated with the same fused multiply-adds (vfmaq_f32) and reduced in the order of
//     x86_float_order.h. Across-vector adds (vaddvq_f32) sum in another order and are not used.
#include "backend/cpu/vec_dot.h"

#if defined(ALLOY_CPU_HAS_NEON_KERNELS)

#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "backend/cpu/quant_blocks.h"
#include "backend/cpu/x86_float_order.h"

namespace alloy::cpu::neon {
namespace {

// Loads of 16 (or 8) bytes; invariant: `p` points at that many readable bytes (any alignment:
// LD1 of bytes has no alignment requirement).
int8x16_t load_s8x16(const int8_t* p) { return vld1q_s8(p); }
uint8x16_t load_u8x16(const uint8_t* p) { return vld1q_u8(p); }
int16x8_t load_s16x8(const uint8_t* p) { return vreinterpretq_s16_u8(vld1q_u8(p)); }  // little-endian int16
// Four f16 values at `p` (8 bytes) widened to float; the conversion is exact.
float32x4_t load_f16x4(const uint8_t* p) { return vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(p))); }

// The image of one __m256 accumulator: lanes 0-3 and lanes 4-7.
struct Lanes8 {
  float32x4_t lo = vdupq_n_f32(0.0f);
  float32x4_t hi = vdupq_n_f32(0.0f);

  // acc = fma(scale, float(ints), acc) lane by lane (FloatLanes8::fma_scaled).
  void fma_scaled(float scale, int32x4_t ints_lo, int32x4_t ints_hi) {
    lo = vfmaq_f32(lo, vcvtq_f32_s32(ints_lo), vdupq_n_f32(scale));
    hi = vfmaq_f32(hi, vcvtq_f32_s32(ints_hi), vdupq_n_f32(scale));
  }

  // ggml's hsum_float_8: r = v[4..7] + v[0..3], then (r0 + r2) + (r1 + r3).
  float hsum() const {
    const float32x4_t r = vaddq_f32(hi, lo);
    const float32x2_t pairs = vadd_f32(vget_low_f32(r), vget_high_f32(r));  // r0 + r2, r1 + r3
    return vpadds_f32(pairs);
  }
};

// hsum_float_4: (v0 + v2) + (v1 + v3).
float hsum_4(float32x4_t v) { return vpadds_f32(vadd_f32(vget_low_f32(v), vget_high_f32(v))); }

// Lanes 0-3 (bytes 0..15) and 4-7 (bytes 16..31) of a 32-byte chunk's int8 products.
struct IntLanes8 {
  int32x4_t lo;
  int32x4_t hi;
};

IntLanes8 dot_32(int8x16_t x_lo, int8x16_t x_hi, const int8_t* y) {
  const int32x4_t zero = vdupq_n_s32(0);
  return {vdotq_s32(zero, x_lo, load_s8x16(y)), vdotq_s32(zero, x_hi, load_s8x16(y + 16))};
}

// lanes += scale * dot(x, y) for one 32-element chunk (x as two 16-byte halves).
void add_scaled_dot_32(IntLanes8& lanes, int scale, uint8x16_t x_lo, uint8x16_t x_hi, const int8_t* y) {
  const IntLanes8 d = dot_32(vreinterpretq_s8_u8(x_lo), vreinterpretq_s8_u8(x_hi), y);
  lanes.lo = vmlaq_n_s32(lanes.lo, d.lo, scale);
  lanes.hi = vmlaq_n_s32(lanes.hi, d.hi, scale);
}

// Q4_K / Q5_K min term per lane m: mins[2m] * bsum32[2m] + mins[2m+1] * bsum32[2m+1], where
// bsum32[k] = bsums[2k] + bsums[2k+1] (the scalar k4_min_lanes).
int32x4_t k4_min_lanes(const ScaleMin (&sm)[8], const BlockQ8_K& y) {
  const int32x4_t bsum32_lo = vpaddlq_s16(load_s16x8(y.bsums));       // sub-blocks 0..3
  const int32x4_t bsum32_hi = vpaddlq_s16(load_s16x8(y.bsums + 16));  // sub-blocks 4..7
  const int32_t mins_lo[4] = {sm[0].min, sm[1].min, sm[2].min, sm[3].min};
  const int32_t mins_hi[4] = {sm[4].min, sm[5].min, sm[6].min, sm[7].min};
  return vpaddq_s32(vmulq_s32(bsum32_lo, vld1q_s32(mins_lo)), vmulq_s32(bsum32_hi, vld1q_s32(mins_hi)));
}

// The scaled quant products of a Q4_K / Q5_K super-block: sub-block 2j is the low nibbles of
// qs[32j..32j+31] (elements 64j..64j+31), sub-block 2j+1 the high nibbles; Q5_K's fifth bit of
// sub-block k is bit k of qh[l].
template <typename Block, bool kHasFifthBit>
IntLanes8 k4_scaled_sums(const Block& x, const BlockQ8_K& y, const ScaleMin (&sm)[8]) {
  const uint8x16_t low4 = vdupq_n_u8(0xF);
  const uint8x16_t bit4 = vdupq_n_u8(0x10);
  IntLanes8 sums = {vdupq_n_s32(0), vdupq_n_s32(0)};
  for (int j = 0; j < kQK_K / 64; ++j) {
    const uint8x16_t q_lo = load_u8x16(x.qs + 32 * j);
    const uint8x16_t q_hi = load_u8x16(x.qs + 32 * j + 16);
    uint8x16_t low_lo = vandq_u8(q_lo, low4), low_hi = vandq_u8(q_hi, low4);
    uint8x16_t high_lo = vshrq_n_u8(q_lo, 4), high_hi = vshrq_n_u8(q_hi, 4);
    if constexpr (kHasFifthBit) {
      const uint8x16_t qh_lo = load_u8x16(x.qh), qh_hi = load_u8x16(x.qh + 16);
      const uint8x16_t bit_low = vdupq_n_u8(static_cast<uint8_t>(1u << (2 * j)));
      const uint8x16_t bit_high = vdupq_n_u8(static_cast<uint8_t>(1u << (2 * j + 1)));
      low_lo = vorrq_u8(low_lo, vandq_u8(vtstq_u8(qh_lo, bit_low), bit4));
      low_hi = vorrq_u8(low_hi, vandq_u8(vtstq_u8(qh_hi, bit_low), bit4));
      high_lo = vorrq_u8(high_lo, vandq_u8(vtstq_u8(qh_lo, bit_high), bit4));
      high_hi = vorrq_u8(high_hi, vandq_u8(vtstq_u8(qh_hi, bit_high), bit4));
    }
    add_scaled_dot_32(sums, sm[2 * j].scale, low_lo, low_hi, y.qs + 64 * j);
    add_scaled_dot_32(sums, sm[2 * j + 1].scale, high_lo, high_hi, y.qs + 64 * j + 32);
  }
  return sums;
}

}  // namespace

float dot_f16(const uint8_t* w, const uint8_t* a, int64_t n) {
  const int64_t full = n & ~static_cast<int64_t>(31);
  // sum[j] covers elements 8j..8j+7 of each step of 32, as the reference's four accumulators.
  Lanes8 sum[4];
  for (int64_t i = 0; i < full; i += 32) {
    for (int j = 0; j < 4; ++j) {
      const int64_t e = i + 8 * j;
      sum[j].lo = vfmaq_f32(sum[j].lo, load_f16x4(w + 2 * e), load_f16x4(a + 2 * e));
      sum[j].hi = vfmaq_f32(sum[j].hi, load_f16x4(w + 2 * e + 8), load_f16x4(a + 2 * e + 8));
    }
  }
  // reduce_f32x8: sum0 += sum2, sum1 += sum3, sum0 += sum1; t = low + high half;
  // (t0 + t1) + (t2 + t3).
  const float32x4_t s_lo = vaddq_f32(vaddq_f32(sum[0].lo, sum[2].lo), vaddq_f32(sum[1].lo, sum[3].lo));
  const float32x4_t s_hi = vaddq_f32(vaddq_f32(sum[0].hi, sum[2].hi), vaddq_f32(sum[1].hi, sum[3].hi));
  const float32x4_t t = vaddq_f32(s_lo, s_hi);
  const float32x4_t pairs = vpaddq_f32(t, t);  // t0 + t1, t2 + t3, ...
  double total = vgetq_lane_f32(pairs, 0) + vgetq_lane_f32(pairs, 1);
  for (int64_t i = full; i < n; ++i) {  // tail: float product, double sum
    uint16_t wb = 0, ab = 0;
    std::memcpy(&wb, w + 2 * i, 2);
    std::memcpy(&ab, a + 2 * i, 2);
    const float product = f16_bits_to_float(wb) * f16_bits_to_float(ab);
    total += static_cast<double>(product);
  }
  return static_cast<float>(total);
}

float dot_q8_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ8_0*>(w);  // byte-only structs: alignment 1
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a);
  Lanes8 acc;
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = load_f16(x[i].d) * load_f16(y[i].d);
    const IntLanes8 lanes = dot_32(load_s8x16(x[i].qs), load_s8x16(x[i].qs + 16), y[i].qs);
    acc.fma_scaled(d, lanes.lo, lanes.hi);
  }
  return acc.hsum();
}

float dot_q4_0_q8_0(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ4_0*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_0*>(a);
  const uint8x16_t low4 = vdupq_n_u8(0xF);
  const int8x16_t eight = vdupq_n_s8(8);
  Lanes8 acc;
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float d = load_f16(x[i].d) * load_f16(y[i].d);
    const uint8x16_t packed = load_u8x16(x[i].qs);
    // Elements 0..15: low nibbles, 16..31: high nibbles; minus 8.
    const int8x16_t q_lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(packed, low4)), eight);
    const int8x16_t q_hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(packed, 4)), eight);
    const IntLanes8 lanes = dot_32(q_lo, q_hi, y[i].qs);
    acc.fma_scaled(d, lanes.lo, lanes.hi);
  }
  return acc.hsum();
}

float dot_q4_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ4_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  Lanes8 acc;
  float32x4_t acc_min = vdupq_n_f32(0.0f);  // Q4_K keeps the min terms in four float lanes
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float yd = load_q8_k_scale(y[i]);
    const float d = yd * load_f16(x[i].d);
    const float dmin = -yd * load_f16(x[i].dmin);
    ScaleMin sm[8];
    for (int s = 0; s < 8; ++s) sm[s] = k4_scale_min(x[i].scales, s);
    acc_min = vfmaq_f32(acc_min, vcvtq_f32_s32(k4_min_lanes(sm, y[i])), vdupq_n_f32(dmin));
    const IntLanes8 sums = k4_scaled_sums<BlockQ4_K, false>(x[i], y[i], sm);
    acc.fma_scaled(d, sums.lo, sums.hi);
  }
  return acc.hsum() + hsum_4(acc_min);
}

float dot_q5_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ5_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  Lanes8 acc;
  float min_sum = 0;  // Q5_K sums its min terms in one scalar float, one FMA per block
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float yd = load_q8_k_scale(y[i]);
    const float d = yd * load_f16(x[i].d);
    const float dmin = -yd * load_f16(x[i].dmin);
    ScaleMin sm[8];
    for (int s = 0; s < 8; ++s) sm[s] = k4_scale_min(x[i].scales, s);
    const int32_t min_total = vaddvq_s32(k4_min_lanes(sm, y[i]));  // integer: exact in any order
    min_sum = std::fma(dmin, static_cast<float>(min_total), min_sum);
    const IntLanes8 sums = k4_scaled_sums<BlockQ5_K, true>(x[i], y[i], sm);
    acc.fma_scaled(d, sums.lo, sums.hi);
  }
  return acc.hsum() + min_sum;
}

float dot_q6_k_q8_k(const uint8_t* w, const uint8_t* a, int64_t n) {
  const auto* x = reinterpret_cast<const BlockQ6_K*>(w);
  const auto* y = reinterpret_cast<const BlockQ8_K*>(a);
  const uint8x16_t low4 = vdupq_n_u8(0xF);
  const uint8x16_t low2 = vdupq_n_u8(3);
  Lanes8 acc;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float d = load_q8_k_scale(y[i]) * load_f16(x[i].d);
    const int8_t* scales = x[i].scales;
    // The -32 offset, in the reference's lanes (not the elements' lanes): lane l gets
    // 32 * (bsum[2l] * scale[2l] + bsum[2l+1] * scale[2l+1]).
    const int8x16_t scales8 = load_s8x16(scales);
    const int16x8_t scales_lo = vmovl_s8(vget_low_s8(scales8)), scales_hi = vmovl_s8(vget_high_s8(scales8));
    const int16x8_t bsums_lo = load_s16x8(y[i].bsums), bsums_hi = load_s16x8(y[i].bsums + 16);
    const int32x4_t offset_lo = vpaddq_s32(vmull_s16(vget_low_s16(bsums_lo), vget_low_s16(scales_lo)),
                                           vmull_high_s16(bsums_lo, scales_lo));
    const int32x4_t offset_hi = vpaddq_s32(vmull_s16(vget_low_s16(bsums_hi), vget_low_s16(scales_hi)),
                                           vmull_high_s16(bsums_hi, scales_hi));

    IntLanes8 sums = {vdupq_n_s32(0), vdupq_n_s32(0)};
    for (int h = 0; h < kQK_K / 128; ++h) {
      // ql0 / ql1: the low-nibble sources of chunks 0, 2 and 1, 3; qh: bits 2k..2k+1 of chunk k.
      const uint8x16_t ql0[2] = {load_u8x16(x[i].ql + 64 * h), load_u8x16(x[i].ql + 64 * h + 16)};
      const uint8x16_t ql1[2] = {load_u8x16(x[i].ql + 64 * h + 32), load_u8x16(x[i].ql + 64 * h + 48)};
      const uint8x16_t qh[2] = {load_u8x16(x[i].qh + 32 * h), load_u8x16(x[i].qh + 32 * h + 16)};
      uint8x16_t quants[4][2];  // unsigned 6-bit quants of chunk k, halves 0 and 1
      for (int half = 0; half < 2; ++half) {
        quants[0][half] = vorrq_u8(vandq_u8(ql0[half], low4), vshlq_n_u8(vandq_u8(qh[half], low2), 4));
        quants[1][half] = vorrq_u8(vandq_u8(ql1[half], low4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh[half], 2), low2), 4));
        quants[2][half] = vorrq_u8(vshrq_n_u8(ql0[half], 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh[half], 4), low2), 4));
        quants[3][half] = vorrq_u8(vshrq_n_u8(ql1[half], 4), vshlq_n_u8(vshrq_n_u8(qh[half], 6), 4));
      }
      for (int k = 0; k < 4; ++k) {
        // Bytes 0..15 of the chunk are sub-block 8h + 2k (lanes 0-3), bytes 16..31 the next one.
        const int sub = 8 * h + 2 * k;
        const IntLanes8 p = dot_32(vreinterpretq_s8_u8(quants[k][0]), vreinterpretq_s8_u8(quants[k][1]),
                                   y[i].qs + 128 * h + 32 * k);
        sums.lo = vmlaq_n_s32(sums.lo, p.lo, scales[sub]);
        sums.hi = vmlaq_n_s32(sums.hi, p.hi, scales[sub + 1]);
      }
    }
    sums.lo = vsubq_s32(sums.lo, vshlq_n_s32(offset_lo, 5));
    sums.hi = vsubq_s32(sums.hi, vshlq_n_s32(offset_hi, 5));
    acc.fma_scaled(d, sums.lo, sums.hi);
  }
  return acc.hsum();
}

}  // namespace alloy::cpu::neon

#endif  // ALLOY_CPU_HAS_NEON_KERNELS
