// prompt_attention.h with AVX-512. Per pair of query heads of the KV head (then the odd one):
//   1. the block's queries as F16 values, transposed: queries[d] holds dimension d of the 16 tokens;
//   2. K.Q: for 4 keys at a time (converted from F16 once for both heads), lane-wise partial
//      sums A_j = sum over steps s of queries[16s + j] * key[16s + j] (fused, from 0: GEMM
//      accumulator lane j), added in reduce_add_16's tree ((A0 + A8) + (A4 + A12)) + ... into
//      one vector per key (the scores of the 16 tokens);
//   3. softmax_row and the F16 rounding of each token's scores, lane by lane in place (the
//      16-position groups of its sum are the same tree), zeros where a token does not see;
//   4. probabilities x V: for 8 channels at a time, A_j = sum over positions 16s + j of
//      probabilities[16s + j] * v[channel][16s + j], the same tree, then transposed into the
//      output rows. A token's probabilities past its own position are zeros, which leave
//      every partial sum unchanged (a sum that starts at +0 never becomes -0).
// Measured (pp512, 2 threads, alternating with attend_group's per-token path in one process):
// 0.5B Q8_0 shape +7.0 % and +11.3 % (16 rounds in each order, 15 of 16 faster each), 1.5B
// Q8_0 shape +11 % (8 of 8). Earlier forms, 12 rounds: +6.2 % before step 3 was lane-wise,
// +2.9 % with one head per pass. Three heads per pass, or eight keys for the odd head, changed
// nothing measurable in the kernel alone.
// This file odr-uses no inline function of another header (see x86_simd.h for why).
#include "backend/cpu/prompt_attention.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)

#include <immintrin.h>

#include <cmath>

#include "backend/cpu/expf_avx512.h"
#include "backend/cpu/float_dots.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 AVX-512 header false positives
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace alloy::cpu::avx512 {
namespace {

constexpr int kLanes = kPromptBlockTokens;
static_assert(kLanes == 16, "one token per float lane of a 512-bit vector");
// Lane j of a GEMM accumulator in the order reduce_add_16 adds it: k-th leaf = kTreeOrder[k],
// leaves 2m and 2m + 1 added first, then those pairs, and so on.
constexpr int kTreeOrder[16] = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};
constexpr int kTreeLevels = 5;

int round_up(int n, int multiple) { return (n + multiple - 1) / multiple * multiple; }

// Transposes the 16 x 16 floats in r (r[i][c] -> r[c][i]).
void transpose16(__m512 (&r)[16]) {
  __m512 t[16], u[16];
  for (int i = 0; i < 8; ++i) {  // per 128-bit lane L: rows 2i, 2i + 1 interleaved
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // u[4g + c], lane L: rows 4g .. 4g + 3 at column 4L + c
    const __m512 lo0 = t[4 * g], hi0 = t[4 * g + 1], lo1 = t[4 * g + 2], hi1 = t[4 * g + 3];
    u[4 * g] = _mm512_shuffle_ps(lo0, lo1, 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(lo0, lo1, 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(hi0, hi1, 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(hi0, hi1, 0xEE);
  }
  for (int c = 0; c < 4; ++c) {  // column 4L + c: lane L of u[c], u[4 + c], u[8 + c], u[12 + c]
    const __m512 even0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), even1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88);
    const __m512 odd0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xDD), odd1 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xDD);
    r[c] = _mm512_shuffle_f32x4(even0, even1, 0x88);
    r[8 + c] = _mm512_shuffle_f32x4(even0, even1, 0xDD);
    r[4 + c] = _mm512_shuffle_f32x4(odd0, odd1, 0x88);
    r[12 + c] = _mm512_shuffle_f32x4(odd0, odd1, 0xDD);
  }
}

__m512 load_f16(const void* p) { return _mm512_cvtph_ps(_mm256_loadu_si256(static_cast<const __m256i*>(p))); }

// Adds reduce_add_16's tree as its leaves arrive: `sum` is the sum of the 2^level leaves
// ending at leaf `last` (in kTreeOrder's order); it waits in partial[level] for its pair or,
// completed with it, moves up. After leaf 15, partial[4] holds the total.
template <int N>
void push_tree(__m512 (&partial)[kTreeLevels][N], int last, int level, __m512 (&sum)[N]) {
  for (; (last >> level) & 1; ++level) {
    for (int i = 0; i < N; ++i) sum[i] = _mm512_add_ps(partial[level][i], sum[i]);
  }
  for (int i = 0; i < N; ++i) partial[level][i] = sum[i];
}

// Step 1: queries[d * 16 + t] = f16(q of token t, head h, dimension d); zeros past n_tokens.
void transpose_queries(const PromptAttentionArgs& a, int h, float* queries) {
  for (int d0 = 0; d0 < a.head_dim; d0 += kLanes) {
    __m512 r[16];
    for (int t = 0; t < kLanes; ++t) {
      if (t >= a.n_tokens) {
        r[t] = _mm512_setzero_ps();
        continue;
      }
      const float* row = a.q + static_cast<size_t>(t) * a.q_stride + static_cast<size_t>(h) * a.head_dim + d0;
      const __m256i half = _mm512_cvtps_ph(_mm512_loadu_ps(row), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      r[t] = _mm512_cvtph_ps(half);
    }
    transpose16(r);
    for (int c = 0; c < kLanes; ++c) _mm512_storeu_ps(queries + static_cast<size_t>(d0 + c) * kLanes, r[c]);
  }
}

// Step 2 for keys key0 .. key0 + 3 (converted into s.keys) and kHeads heads: their K.Q
// vectors into s.lanes. Leaves go in pairs (j, j + 8), added at once: 2 x 4 x kHeads sums.
template <int kHeads>
void score_keys(const PromptAttentionArgs& a, const PromptAttentionScratch& s, int key0) {
  constexpr int kKeys = kPromptKeysAtOnce;
  constexpr int kSums = kKeys * kHeads;
  const int steps = a.head_dim / kLanes;
  for (int k = 0; k < kKeys; ++k) {
    const uint8_t* key = a.k + static_cast<size_t>(key0 + k) * a.k_stride;
    for (int i = 0; i < a.head_dim; i += kLanes) _mm512_storeu_ps(s.keys + k * a.head_dim + i, load_f16(key + 2 * i));
  }
  __m512 partial[kTreeLevels][kSums];
  for (int pair = 0; pair < 8; ++pair) {
    __m512 acc[2][kSums];
    for (int m = 0; m < 2; ++m) {
      for (__m512& x : acc[m]) x = _mm512_setzero_ps();
    }
    for (int step = 0; step < steps; ++step) {
      for (int m = 0; m < 2; ++m) {
        const int d = kLanes * step + kTreeOrder[2 * pair + m];
        __m512 q[kHeads];
        for (int h = 0; h < kHeads; ++h) q[h] = _mm512_loadu_ps(s.queries[h] + static_cast<size_t>(d) * kLanes);
        for (int k = 0; k < kKeys; ++k) {
          const __m512 key = _mm512_set1_ps(s.keys[k * a.head_dim + d]);
          for (int h = 0; h < kHeads; ++h) acc[m][k * kHeads + h] = _mm512_fmadd_ps(q[h], key, acc[m][k * kHeads + h]);
        }
      }
    }
    __m512 sum[kSums];
    for (int i = 0; i < kSums; ++i) sum[i] = _mm512_add_ps(acc[0][i], acc[1][i]);
    push_tree(partial, 2 * pair + 1, 1, sum);
  }
  for (int k = 0; k < kKeys; ++k) {
    for (int h = 0; h < kHeads; ++h) {
      _mm512_storeu_ps(s.lanes[h] + static_cast<size_t>(key0 + k) * kLanes, partial[4][k * kHeads + h]);
    }
  }
}

// Which tokens see position p (lane t: pos0 + t >= p, t < n_tokens).
__mmask16 seeing(const PromptAttentionArgs& a, int p) {
  const unsigned tokens = (1u << a.n_tokens) - 1u;
  const int first = p - a.pos0;  // the first token that sees p
  if (first <= 0) return static_cast<__mmask16>(tokens);
  if (first >= kLanes) return 0;
  return static_cast<__mmask16>(tokens & ~((1u << first) - 1u));
}

// Step 3 in place, lane by lane: softmax_row of each token's scores (avx512::softmax_row's
// operations: scale, maximum, ggml_vector_expf, each 16-position group summed in
// reduce_add_16's tree and added to a double), then the F16 rounding of f32_to_f16_row; zeros
// at positions a token does not see, up to n_summed. False when a score is NaN (the caller
// then takes the per-token path, whose scalar softmax handles it as ggml does).
bool softmax_lanes(const PromptAttentionArgs& a, float* lanes, int n_keys, int n_summed) {
  const __m512 scale = _mm512_set1_ps(a.scale);
  __m512 max = _mm512_set1_ps(-INFINITY);
  __mmask16 nan = 0;
  for (int p = 0; p < n_keys; ++p) {
    const __mmask16 m = seeing(a, p);
    const __m512 x = _mm512_mul_ps(_mm512_loadu_ps(lanes + static_cast<size_t>(p) * kLanes), scale);
    _mm512_storeu_ps(lanes + static_cast<size_t>(p) * kLanes, x);
    nan |= _mm512_mask_cmp_ps_mask(m, x, x, _CMP_UNORD_Q);
    max = _mm512_mask_max_ps(max, m, max, x);
  }
  if (nan != 0) return false;
  __m512d sum_low = _mm512_setzero_pd(), sum_high = _mm512_setzero_pd();
  for (int g = 0; g < n_keys; g += kLanes) {
    __m512 partial[kTreeLevels][1];
    for (int leaf = 0; leaf < kLanes; ++leaf) {
      const int p = g + kTreeOrder[leaf];
      float* row = lanes + static_cast<size_t>(p) * kLanes;
      __m512 e[1] = {_mm512_maskz_mov_ps(seeing(a, p), x86::expf16(_mm512_sub_ps(_mm512_loadu_ps(row), max)))};
      _mm512_storeu_ps(row, e[0]);
      push_tree(partial, leaf, 0, e);
    }
    const __m512 group = partial[4][0];
    sum_low = _mm512_add_pd(sum_low, _mm512_cvtps_pd(_mm512_castps512_ps256(group)));
    sum_high = _mm512_add_pd(sum_high, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(group), 1))));
  }
  const __m512d one = _mm512_set1_pd(1.0);
  const __m256 inv_low = _mm512_cvtpd_ps(_mm512_div_pd(one, sum_low)), inv_high = _mm512_cvtpd_ps(_mm512_div_pd(one, sum_high));
  const __m512 inv = _mm512_castpd_ps(
      _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(inv_low)), _mm256_castps_pd(inv_high), 1));
  for (int p = 0; p < n_summed; ++p) {
    float* row = lanes + static_cast<size_t>(p) * kLanes;
    const __mmask16 m = seeing(a, p);
    const __m512 probs = _mm512_maskz_mul_ps(m, _mm512_maskz_loadu_ps(m, row), inv);
    _mm512_storeu_ps(row, _mm512_cvtph_ps(_mm512_cvtps_ph(probs, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
  }
  return true;
}

// Step 4 for channels c0 .. c0 + 7 (converted into s.values) and kHeads heads: their
// outputs into s.outputs.
template <int kHeads>
void weigh_values(const PromptAttentionArgs& a, const PromptAttentionScratch& s, int c0, int n_summed) {
  constexpr int kChannels = kPromptChannelsAtOnce;
  constexpr int kSums = kChannels * kHeads;
  for (int c = 0; c < kChannels; ++c) {
    const uint8_t* vt = a.v + static_cast<size_t>(c0 + c) * a.v_stride;
    float* out = s.values + static_cast<size_t>(c) * a.capacity;
    for (int p = 0; p < n_summed; p += kLanes) _mm512_storeu_ps(out + p, load_f16(vt + 2 * static_cast<size_t>(p)));
  }
  __m512 partial[kTreeLevels][kSums];
  for (int leaf = 0; leaf < 16; ++leaf) {
    __m512 acc[kSums];
    for (__m512& x : acc) x = _mm512_setzero_ps();
    for (int p = kTreeOrder[leaf]; p < n_summed; p += kLanes) {
      __m512 probs[kHeads];
      for (int h = 0; h < kHeads; ++h) probs[h] = _mm512_loadu_ps(s.lanes[h] + static_cast<size_t>(p) * kLanes);
      for (int c = 0; c < kChannels; ++c) {
        const __m512 v = _mm512_set1_ps(s.values[static_cast<size_t>(c) * a.capacity + p]);
        for (int h = 0; h < kHeads; ++h) acc[c * kHeads + h] = _mm512_fmadd_ps(probs[h], v, acc[c * kHeads + h]);
      }
    }
    push_tree(partial, leaf, 0, acc);
  }
  for (int c = 0; c < kChannels; ++c) {
    for (int h = 0; h < kHeads; ++h) {
      _mm512_storeu_ps(s.outputs[h] + static_cast<size_t>(c0 + c) * kLanes, partial[4][c * kHeads + h]);
    }
  }
}

// Steps 1 - 4 for heads h0 .. h0 + kHeads - 1 of the group.
template <int kHeads>
bool attend_heads(const PromptAttentionArgs& a, const PromptAttentionScratch& s, int h0, int n_keys, int n_summed) {
  for (int h = 0; h < kHeads; ++h) transpose_queries(a, h0 + h, s.queries[h]);
  for (int key0 = 0; key0 < n_keys; key0 += kPromptKeysAtOnce) score_keys<kHeads>(a, s, key0);
  for (int h = 0; h < kHeads; ++h) {
    if (!softmax_lanes(a, s.lanes[h], n_keys, n_summed)) return false;
  }
  for (int c0 = 0; c0 < a.head_dim; c0 += kPromptChannelsAtOnce) weigh_values<kHeads>(a, s, c0, n_summed);
  for (int h = 0; h < kHeads; ++h) {
    for (int d0 = 0; d0 < a.head_dim; d0 += kLanes) {
      __m512 r[16];
      for (int i = 0; i < kLanes; ++i) r[i] = _mm512_loadu_ps(s.outputs[h] + static_cast<size_t>(d0 + i) * kLanes);
      transpose16(r);
      const size_t column = static_cast<size_t>(h0 + h) * a.head_dim + d0;
      for (int t = 0; t < a.n_tokens; ++t) _mm512_storeu_ps(a.out + static_cast<size_t>(t) * a.out_stride + column, r[t]);
    }
  }
  return true;
}

}  // namespace

bool attend_token_block(const PromptAttentionArgs& a, const PromptAttentionScratch& s) {
  static_assert(kPromptHeadsAtOnce == 2, "pairs of heads, then the odd one");
  const int n_visible_last = a.pos0 + a.n_tokens;
  // Whole 16-position softmax groups (keys past the last token are scored, never seen), and
  // attend_group's V product length for the last token.
  const int n_keys = round_up(n_visible_last, kLanes);
  const int n_summed = round_up(n_visible_last, kVecDotStep);
  int h0 = 0;
  for (; h0 + 2 <= a.n_heads; h0 += 2) {
    if (!attend_heads<2>(a, s, h0, n_keys, n_summed)) return false;
  }
  return h0 == a.n_heads || attend_heads<1>(a, s, h0, n_keys, n_summed);
}

}  // namespace alloy::cpu::avx512

#endif
