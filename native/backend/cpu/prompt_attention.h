// Prompt attention over an F16 KV cache, many tokens at once (AVX-512). attend_group
// (cpu_backend.cpp) computes one token's heads with float_dot_rows_multi: per 16 keys a
// horizontal reduction for every query, and the keys converted from F16 again for every
// token; pp512 of the 0.5B shape spent about a fifth of its time there, at a quarter of the
// core's multiply-add rate. Here 16 consecutive tokens share every load: the queries of one
// head sit in the 16 lanes of a vector (one lane per token), each key value is broadcast,
// and the 16 partial sums of llamafile's GEMM order (float_dots.h: one 16-float
// accumulator per output over steps of 16, then _mm512_reduce_add_ps) become 16 lane-wise
// accumulators added in that reduction's tree - so every score and output is bit-identical
// to attend_group's (test_prompt_attention checks it). The softmax and the probabilities x V
// products run the same way, tokens in lanes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace alloy::cpu {

constexpr int kPromptBlockTokens = 16;    // tokens of one call: one per vector lane
constexpr int kPromptHeadsAtOnce = 2;     // query heads sharing each converted key / value load
constexpr int kPromptKeysAtOnce = 4;      // keys scored together
constexpr int kPromptChannelsAtOnce = 8;  // V channels weighted together

// Scratch of one thread; sizes for a cache of `capacity` positions and heads of head_dim.
// [kPromptHeadsAtOnce] buffers belong to the heads of one pass.
struct PromptAttentionScratch {
  float* queries[kPromptHeadsAtOnce] = {};  // head_dim x 16: a head's queries (F16 values), tokens in lanes
  float* lanes[kPromptHeadsAtOnce] = {};    // capacity x 16: K.Q, tokens in lanes; then the probabilities so
  float* outputs[kPromptHeadsAtOnce] = {};  // head_dim x 16: a head's outputs, tokens in lanes
  float* keys = nullptr;    // kPromptKeysAtOnce x head_dim: keys as floats
  float* values = nullptr;  // kPromptChannelsAtOnce x capacity: V^T rows as floats
};

// Floats PromptAttentionScratch needs in all (the pointers above carve them).
size_t prompt_attention_floats(size_t capacity, int head_dim);
PromptAttentionScratch carve_prompt_attention(float* floats, size_t capacity, int head_dim);

// Tokens t < n_tokens (1..16) at positions pos0 + t, each attending to positions 0..pos0 + t,
// for the query heads that share one KV head. Invariants (the caller checks them): head_dim
// is a multiple of 16; capacity is a multiple of 64 and above pos0 + n_tokens - 1; the F16
// cache holds finite values at every position below capacity that a token may see (rows past
// a token's position are read but their results are not used, or weighted by zero).
struct PromptAttentionArgs {
  const uint8_t* k = nullptr;  // F16 keys of the KV head: position p at k + p * k_stride
  size_t k_stride = 0;
  const uint8_t* v = nullptr;  // F16 V^T rows of the KV head: channel c at v + c * v_stride
  size_t v_stride = 0;
  const float* q = nullptr;    // the first query head of token 0; token t's at q + t * q_stride
  size_t q_stride = 0;
  float* out = nullptr;        // the same layout as q
  size_t out_stride = 0;
  int n_tokens = 0;
  int pos0 = 0;
  int n_heads = 0;             // query heads of the KV head (consecutive, head_dim floats apart)
  int head_dim = 0;
  float scale = 1.0f;
  size_t capacity = 0;         // positions of the scratch buffers
};

#if defined(__x86_64__) || defined(_M_X64)
namespace avx512 {
// False (outputs incomplete) when a score is NaN: the caller computes the block per token.
bool attend_token_block(const PromptAttentionArgs& args, const PromptAttentionScratch& scratch);
}  // namespace avx512
#endif

}  // namespace alloy::cpu
