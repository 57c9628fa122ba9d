// The parts of the AVX2 quantized dot products that vec_dot_avx2.cpp (one row, one token)
// and tiles_avx2.cpp (a few rows times a few tokens) share: a weight block decoded into
// integer vectors once, then its exact integer products with one token's activation block.
// Both files compute every output with these same functions, so a tile's outputs are the
// vec_dot's bit for bit (test_tiles, test_quant check it). Include only from files compiled
// with AVX2 + FMA + F16C (x86_simd.h: internal linkage, one copy per file).
#pragma once

#include "backend/cpu/x86_simd.h"

namespace alloy::cpu::x86 {
namespace {  // NOLINT(build/namespaces): one copy per instruction-set file, on purpose

// Signed bytes x * y summed in groups of 4 into int32 lanes, with |x| given. Exact while
// y != -128 (the activation quants are in [-127, 127]): |x| * (+-y) pairs stay within int16.
inline __m256i dot_i8_groups_of_4_abs(__m256i x, __m256i x_abs, __m256i y) {
  const __m256i products = _mm256_maddubs_epi16(x_abs, _mm256_sign_epi8(y, x));
  return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

inline __m256i dot_i8_groups_of_4(__m256i x, __m256i y) { return dot_i8_groups_of_4_abs(x, _mm256_sign_epi8(x, x), y); }

// Two int16 scales for the low and high 16 bytes of a 32-byte chunk.
inline __m256i scale_pair(int low, int high) {
  return _mm256_insertf128_si256(_mm256_castsi128_si256(_mm_set1_epi16(static_cast<int16_t>(low))),
                                 _mm_set1_epi16(static_cast<int16_t>(high)), 1);
}

// A Q5_0 block's quants in element order, signed (nibble + 16 * fifth bit - 16, in [-16, 15]).
inline __m256i q5_0_quants(const BlockQ5_0& b) {
  // Byte e of the broadcast qh word is byte e / 8 of qh; the mask keeps bit e % 8 of it.
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(load_u32(b.qh))),
                                             _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202,
                                                                0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i fifth = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(16));
  return _mm256_sub_epi8(_mm256_or_si256(unpack_nibbles_32(b.qs), fifth), _mm256_set1_epi8(16));
}

// Q4_K / Q5_K per super-block: the min term in four lanes (lane m: sub-blocks 2m, 2m + 1)
// and the scaled quant products in eight int32 lanes.
struct KQuantTerms {
  int32_t min_lanes[4];
  __m256i sums;
};

// One Q4_K / Q5_K super-block decoded: quants of sub-block s (unsigned, 0..15 or 0..31) in
// q[s], its scale as int16 in every lane of scales[s], its min in mins[s].
struct K45Weights {
  __m256i q[8];
  __m256i scales[8];
  int mins[8];
};

template <typename Block, bool kHasFifthBit>
inline void decode_k45(const Block& x, K45Weights& out) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  for (int s = 0; s < 8; ++s) {
    const ScaleMin sm = k4_scale_min(x.scales, s);
    out.scales[s] = _mm256_set1_epi16(static_cast<int16_t>(sm.scale));
    out.mins[s] = sm.min;
  }
  for (int j = 0; j < kQK_K / 64; ++j) {
    const __m256i q4 = load256(x.qs + 32 * j);
    __m256i q_low = _mm256_and_si256(q4, low4);
    __m256i q_high = _mm256_and_si256(_mm256_srli_epi16(q4, 4), low4);
    if constexpr (kHasFifthBit) {  // bit 2j of qh[l] for the low half, bit 2j + 1 for the high half
      const __m256i qh = load256(x.qh);
      const __m256i one = _mm256_set1_epi8(1);
      q_low = _mm256_or_si256(q_low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j), one), 4));
      q_high = _mm256_or_si256(q_high, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * j + 1), one), 4));
    }
    out.q[2 * j] = q_low;
    out.q[2 * j + 1] = q_high;
  }
}

inline KQuantTerms k45_terms(const K45Weights& w, const BlockQ8_K& y) {
  KQuantTerms terms;
  for (int m = 0; m < 4; ++m) {
    const int bsum_lo = load_q8_k_bsum(y, 4 * m) + load_q8_k_bsum(y, 4 * m + 1);
    const int bsum_hi = load_q8_k_bsum(y, 4 * m + 2) + load_q8_k_bsum(y, 4 * m + 3);
    terms.min_lanes[m] = w.mins[2 * m] * bsum_lo + w.mins[2 * m + 1] * bsum_hi;
  }
  terms.sums = _mm256_setzero_si256();
  for (int s = 0; s < 8; ++s) {
    const __m256i p = _mm256_maddubs_epi16(w.q[s], load256(y.qs + 32 * s));
    terms.sums = _mm256_add_epi32(terms.sums, _mm256_madd_epi16(w.scales[s], p));
  }
  return terms;
}

// One Q6_K super-block decoded: the 6-bit quants (0..63) of 32-byte chunk c in q[c], the
// scales of its two 16-byte halves in scales[c], and all 16 scales as int16 for the offset.
struct Q6KWeights {
  __m256i q[8];
  __m256i scales[8];
  __m256i scales16;
};

inline void decode_q6_k(const BlockQ6_K& x, Q6KWeights& out) {
  const __m256i low4 = _mm256_set1_epi8(0xF);
  const __m256i low2 = _mm256_set1_epi8(3);
  const int8_t* scales = x.scales;
  out.scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(scales)));
  for (int h = 0; h < kQK_K / 128; ++h) {
    const __m256i ql0 = load256(x.ql + 64 * h);
    const __m256i ql1 = load256(x.ql + 64 * h + 32);
    const __m256i qh = load256(x.qh + 32 * h);
    // chunk k: low nibble source and bits 2k..2k+1 of qh, as bits 4..5
    out.q[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, low4), _mm256_slli_epi16(_mm256_and_si256(qh, low2), 4));
    out.q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, low4),
                                       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), low2), 4));
    out.q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                                       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), low2), 4));
    out.q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4),
                                       _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), low2), 4));
    for (int k = 0; k < 4; ++k) {
      const int sub = 8 * h + 2 * k;
      out.scales[4 * h + k] = scale_pair(scales[sub], scales[sub + 1]);
    }
  }
}

// The block's int32 lanes: scaled quant products minus the -32 offset, whose lane l is
// 32 * (bsum[2l] * scale[2l] + bsum[2l+1] * scale[2l+1]).
inline __m256i q6_k_lanes(const Q6KWeights& w, const BlockQ8_K& y) {
  const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(load256(y.bsums), w.scales16), 5);
  __m256i sumi = _mm256_setzero_si256();
  for (int c = 0; c < 8; ++c) {
    const __m256i p = _mm256_maddubs_epi16(w.q[c], load256(y.qs + 32 * c));
    sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(w.scales[c], p));
  }
  return _mm256_sub_epi32(sumi, offset);
}

}  // namespace
}  // namespace alloy::cpu::x86
