// Token sampling from a row of logits: greedy, or llama.cpp's default chain
// (repetition penalty -> top-k -> top-p -> min-p -> temperature -> weighted draw), each step
// with llama.cpp's semantics. Draws use our own PRNG (rng.h), so a seed gives the same
// sequence on every platform (not llama.cpp's random stream). Ties between equal logits
// always go to the lower token id.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "rng.h"

namespace alloy {

struct SamplerParams {
  float temp = 0.0f;            // <= 0: greedy argmax; must not be NaN or infinite
  int top_k = 40;               // 0: off; otherwise keep the k most likely tokens
  float top_p = 0.95f;          // in [0, 1]; 1: off
  float min_p = 0.05f;          // in [0, 1]; 0: off; keep p >= min_p * p_max
  float repeat_penalty = 1.0f;  // > 0; 1: off
  int repeat_last_n = 64;       // tokens of history penalized; 0: off; -1: the whole history
  uint64_t seed = 0;
};

// Throws Error(invalid_argument) naming the first parameter out of its range.
void validate_sampler_params(const SamplerParams& params);

// One token under consideration: its id, its (adjusted) logit and, once computed, its
// probability among the candidates left.
struct TokenCandidate {
  int32_t id;
  float logit;
  float p;
};

// The candidate set that the sampling steps narrow down. It keeps its buffer between calls
// (allocated once per vocabulary size). Invariant: the live candidates are
// buffer_[0, size_), and buffer_[0, sorted_prefix_) are the best of them, best first
// (decreasing logit, ties by lower id).
class CandidateList {
 public:
  // Loads one candidate per token id in id order; throws Error(invalid_argument) for
  // n_vocab <= 0, null logits, or a NaN or +inf logit (-inf marks a banned token).
  void load(const float* logits, int n_vocab);
  size_t size() const { return size_; }
  // How many leading candidates are known to be the best, in order.
  size_t sorted_prefix() const { return sorted_prefix_; }
  TokenCandidate& operator[](size_t i);  // bounds-checked: Error(internal) past size()
  const TokenCandidate& operator[](size_t i) const;
  // The live candidates as a range, for loops over all of them.
  TokenCandidate* begin() { return buffer_.data(); }
  TokenCandidate* end() { return buffer_.data() + size_; }
  const TokenCandidate* begin() const { return buffer_.data(); }
  const TokenCandidate* end() const { return buffer_.data() + size_; }
  // Puts the `count` best candidates first, in order (the rest in unspecified order).
  // With count == size() the whole list becomes sorted.
  void sort_best(size_t count);
  // Keeps the first `count` candidates (count <= size()); the order is kept.
  void truncate(size_t count);
  // Keeps the candidates whose logit is >= min_logit, in their current order.
  void keep_logits_at_least(float min_logit);
  // A logit was changed in place: the list can no longer be assumed sorted.
  void mark_unsorted() { sorted_prefix_ = 0; }
  float max_logit() const;
  // p_i = exp(logit_i - max) / sum over the candidates, in float as llama.cpp does.
  void softmax();

 private:
  std::vector<TokenCandidate> buffer_;
  size_t size_ = 0;
  size_t sorted_prefix_ = 0;
};

// The steps of the chain, each with llama.cpp's semantics (public for tests).

// Repetition penalty: each distinct token in recent[0, n_recent) (valid ids, candidates
// still in id order as load() leaves them) gets its logit divided by `penalty` when
// positive, multiplied when <= 0 - once, however often it occurs. `seen` is scratch of
// n_vocab zeros, left all zero again.
void penalize_repeats(CandidateList& list, const int32_t* recent, size_t n_recent, float penalty,
                      std::vector<uint8_t>& seen);
// Keeps the k best (k <= 0: no-op); the list ends sorted.
void keep_top_k(CandidateList& list, int k);
// Keeps the smallest best-first prefix whose probabilities (softmax of the logits) sum to
// >= p (p >= 1: no-op); the list ends sorted.
void keep_top_p(CandidateList& list, float p);
// Keeps the tokens with probability >= p * the best one's (p <= 0: no-op); order kept.
void keep_min_p(CandidateList& list, float p);
// Divides every logit by temp (> 0).
void scale_by_temperature(CandidateList& list, float temp);
// The candidate with the highest logit; among equal ones the first in list order.
int32_t pick_argmax(const CandidateList& list);
// The token with the highest logit (ties: lowest id) straight from the logits, without
// loading a list; the same input checks as CandidateList::load.
int32_t argmax_of_logits(const float* logits, int n_vocab);
// A draw with probability softmax(logit); throws Error(invalid_argument) when every logit
// is -inf. A single candidate is returned without consuming a random number.
int32_t draw_weighted(CandidateList& list, Rng& rng);

class Sampler {
 public:
  // Throws Error(invalid_argument) for parameters out of range (validate_sampler_params).
  explicit Sampler(SamplerParams params);
  // New parameters (and a new draw sequence from their seed), keeping the buffers.
  void reset(SamplerParams params);

  // Picks the next token from logits[0, n_vocab). `history` holds the tokens so far (prompt
  // and generated), oldest first; its last repeat_last_n entries are penalized (in greedy
  // mode too, as in llama.cpp). Throws Error(invalid_argument) for n_vocab <= 0, a history
  // id outside [0, n_vocab), a NaN or +inf logit, or (when drawing) every logit -inf.
  int32_t sample(const float* logits, int n_vocab, const std::vector<int32_t>& history);
  int32_t sample(const float* logits, int n_vocab, const int32_t* history, size_t n_history);

  const SamplerParams& params() const { return params_; }

 private:
  SamplerParams params_;
  Rng rng_;
  CandidateList candidates_;
  std::vector<uint8_t> seen_;  // penalize_repeats scratch, one flag per token id
};

}  // namespace alloy
