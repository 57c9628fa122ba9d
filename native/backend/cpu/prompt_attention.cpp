// Scratch layout of prompt_attention.h (the kernel itself: prompt_attention_avx512.cpp).
#include "backend/cpu/prompt_attention.h"

namespace alloy::cpu {

namespace {

// Each buffer starts on a 64-byte boundary (16 floats) when the first one does.
size_t whole_lines(size_t floats) { return (floats + 15) / 16 * 16; }

size_t query_floats(int head_dim) { return whole_lines(static_cast<size_t>(head_dim) * kPromptBlockTokens); }
size_t key_floats(int head_dim) { return whole_lines(static_cast<size_t>(head_dim) * kPromptKeysAtOnce); }
size_t lane_floats(size_t capacity) { return whole_lines(capacity * kPromptBlockTokens); }
size_t value_floats(size_t capacity) { return whole_lines(capacity * kPromptChannelsAtOnce); }

}  // namespace

size_t prompt_attention_floats(size_t capacity, int head_dim) {
  const size_t per_head = 2 * query_floats(head_dim) + lane_floats(capacity);  // queries, outputs, lanes
  return kPromptHeadsAtOnce * per_head + key_floats(head_dim) + value_floats(capacity);
}

PromptAttentionScratch carve_prompt_attention(float* floats, size_t capacity, int head_dim) {
  PromptAttentionScratch s;
  float* next = floats;
  auto take = [&next](size_t n) {
    float* p = next;
    next += n;
    return p;
  };
  for (int h = 0; h < kPromptHeadsAtOnce; ++h) {
    s.queries[h] = take(query_floats(head_dim));
    s.outputs[h] = take(query_floats(head_dim));
    s.lanes[h] = take(lane_floats(capacity));
  }
  s.keys = take(key_floats(head_dim));
  s.values = take(value_floats(capacity));
  return s;
}

}  // namespace alloy::cpu
