#include "sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "error.h"

namespace alloy {

namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(ErrorKind::invalid_argument, message); }

// The candidate order: higher logit first, equal logits by lower id (a strict total order,
// as NaN logits are refused at load).
bool better(const TokenCandidate& a, const TokenCandidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

void check_logit(float logit, size_t id) {
  if (std::isnan(logit) || logit == std::numeric_limits<float>::infinity()) {
    invalid("sampler: logit of token " + std::to_string(id) + " is " + std::to_string(logit) + " (NaN or +inf)");
  }
}

void check_logits_input(const float* logits, int n_vocab) {
  if (n_vocab <= 0) invalid("sampler: n_vocab must be > 0, got " + std::to_string(n_vocab));
  if (logits == nullptr) invalid("sampler: no logits");
}

bool in_unit_interval(float x) { return x >= 0.0f && x <= 1.0f; }  // false for NaN

// llama.cpp's top-p first sorts only this many of a large unsorted list, and sorts the rest
// only when the nucleus turns out to be larger.
constexpr size_t kTopPLargeList = 1024;
constexpr size_t kTopPFirstSort = 256;

}  // namespace

void validate_sampler_params(const SamplerParams& p) {
  if (!std::isfinite(p.temp)) invalid("sampler: temp must be a finite number");
  if (p.top_k < 0) invalid("sampler: top_k must be >= 0 (0 turns it off), got " + std::to_string(p.top_k));
  if (!in_unit_interval(p.top_p)) invalid("sampler: top_p must be in [0, 1], got " + std::to_string(p.top_p));
  if (!in_unit_interval(p.min_p)) invalid("sampler: min_p must be in [0, 1], got " + std::to_string(p.min_p));
  if (!std::isfinite(p.repeat_penalty) || p.repeat_penalty <= 0.0f) {
    invalid("sampler: repeat_penalty must be a finite number > 0 (1 turns it off), got " + std::to_string(p.repeat_penalty));
  }
  if (p.repeat_last_n < -1) {
    invalid("sampler: repeat_last_n must be >= -1 (-1: whole history, 0: off), got " + std::to_string(p.repeat_last_n));
  }
}

// ---- CandidateList ----

void CandidateList::load(const float* logits, int n_vocab) {
  check_logits_input(logits, n_vocab);
  const size_t n = static_cast<size_t>(n_vocab);
  if (buffer_.size() != n) buffer_.assign(n, TokenCandidate{0, 0.0f, 0.0f});
  for (size_t i = 0; i < n; ++i) {
    check_logit(logits[i], i);
    buffer_[i] = TokenCandidate{static_cast<int32_t>(i), logits[i], 0.0f};
  }
  size_ = n;
  sorted_prefix_ = 0;
}

TokenCandidate& CandidateList::operator[](size_t i) {
  if (i >= size_) throw Error(ErrorKind::internal, "candidate index out of range");
  return buffer_[i];
}

const TokenCandidate& CandidateList::operator[](size_t i) const {
  if (i >= size_) throw Error(ErrorKind::internal, "candidate index out of range");
  return buffer_[i];
}

void CandidateList::sort_best(size_t count) {
  count = std::min(count, size_);
  if (count <= sorted_prefix_) return;
  const auto begin = buffer_.begin();
  const auto end = begin + static_cast<std::ptrdiff_t>(size_);
  const auto middle = begin + static_cast<std::ptrdiff_t>(count);
  if (middle != end) std::nth_element(begin, middle, end, better);
  std::sort(begin, middle, better);
  sorted_prefix_ = count;
}

void CandidateList::truncate(size_t count) {
  if (count > size_) throw Error(ErrorKind::internal, "candidate list cannot grow by truncation");
  size_ = count;
  sorted_prefix_ = std::min(sorted_prefix_, count);
}

void CandidateList::keep_logits_at_least(float min_logit) {
  // Stable compaction. The kept part of a best-first prefix is still the best-first prefix
  // of what is kept: every candidate after the prefix ranks below all of the prefix.
  size_t kept = 0;
  size_t kept_of_prefix = 0;
  for (size_t i = 0; i < size_; ++i) {
    if (buffer_[i].logit < min_logit) continue;
    if (i < sorted_prefix_) ++kept_of_prefix;
    buffer_[kept++] = buffer_[i];
  }
  size_ = kept;
  sorted_prefix_ = kept_of_prefix;
}

float CandidateList::max_logit() const {
  if (size_ == 0) throw Error(ErrorKind::internal, "max_logit of an empty candidate list");
  if (sorted_prefix_ > 0) return buffer_[0].logit;
  float max = buffer_[0].logit;
  for (const TokenCandidate& c : *this) max = std::max(max, c.logit);
  return max;
}

void CandidateList::softmax() {
  const float max = max_logit();
  float sum = 0.0f;
  for (TokenCandidate& c : *this) {
    c.p = std::exp(c.logit - max);
    sum += c.p;
  }
  for (TokenCandidate& c : *this) c.p /= sum;
}

// ---- the steps ----

void penalize_repeats(CandidateList& list, const int32_t* recent, size_t n_recent, float penalty,
                      std::vector<uint8_t>& seen) {
  if (seen.size() != list.size()) throw Error(ErrorKind::internal, "penalize_repeats: scratch size differs from the vocabulary");
  // All checks first, so that `seen` is never left dirty by a throw.
  for (size_t i = 0; i < n_recent; ++i) {
    const int32_t id = recent[i];
    if (id < 0 || static_cast<size_t>(id) >= list.size()) invalid("penalize_repeats: token " + std::to_string(id) + " is outside the vocabulary");
    if (list[static_cast<size_t>(id)].id != id) throw Error(ErrorKind::internal, "penalize_repeats: candidates are not in id order");
  }
  for (size_t i = 0; i < n_recent; ++i) {
    const size_t id = static_cast<size_t>(recent[i]);
    if (seen[id]) continue;
    seen[id] = 1;
    float& logit = list[id].logit;
    // Dividing a negative logit would raise it, so negative (and zero) ones are multiplied.
    logit = logit <= 0.0f ? logit * penalty : logit / penalty;
  }
  for (size_t i = 0; i < n_recent; ++i) seen[static_cast<size_t>(recent[i])] = 0;
  list.mark_unsorted();
}

void keep_top_k(CandidateList& list, int k) {
  if (k <= 0) return;
  const size_t kept = std::min(static_cast<size_t>(k), list.size());
  list.sort_best(kept);
  list.truncate(kept);
}

void keep_top_p(CandidateList& list, float p) {
  if (p >= 1.0f) return;
  list.softmax();
  const size_t n = list.size();
  list.sort_best(n > kTopPLargeList ? kTopPFirstSort : n);
  float cumulative = 0.0f;
  size_t kept = n;
  for (size_t i = 0; i < n; ++i) {
    // DEBT: a nucleus past the first partial sort sorts the whole list (~20 ms for 152k
    // candidates); llama.cpp's bucket sort is several times faster there.
    if (i == list.sorted_prefix()) list.sort_best(n);
    cumulative += list[i].p;
    if (cumulative >= p) {
      kept = i + 1;
      break;
    }
  }
  list.sort_best(kept);
  list.truncate(kept);
}

void keep_min_p(CandidateList& list, float p) {
  if (p <= 0.0f || list.size() == 0) return;
  // p_i >= p * p_max  <=>  logit_i >= max_logit + log(p), so the best token always stays.
  list.keep_logits_at_least(list.max_logit() + std::log(p));
}

void scale_by_temperature(CandidateList& list, float temp) {
  // Dividing by a positive temperature keeps the order, so the sorted prefix stays valid.
  for (TokenCandidate& c : list) c.logit /= temp;
}

int32_t pick_argmax(const CandidateList& list) {
  const TokenCandidate* best = list.begin();
  for (const TokenCandidate& c : list) {
    if (c.logit > best->logit) best = &c;
  }
  if (best == list.end()) throw Error(ErrorKind::internal, "pick_argmax of an empty candidate list");
  return best->id;
}

int32_t argmax_of_logits(const float* logits, int n_vocab) {
  check_logits_input(logits, n_vocab);
  // One branch-light pass; NaN and +inf fail `x < inf`, and a second pass names the first.
  constexpr float kInf = std::numeric_limits<float>::infinity();
  bool all_valid = true;
  int32_t best = 0;
  float best_logit = logits[0];
  for (int32_t i = 0; i < n_vocab; ++i) {
    const float x = logits[i];
    all_valid &= x < kInf;
    if (x > best_logit) {
      best_logit = x;
      best = i;
    }
  }
  if (!all_valid) {
    for (int32_t i = 0; i < n_vocab; ++i) check_logit(logits[i], static_cast<size_t>(i));
  }
  return best;
}

int32_t draw_weighted(CandidateList& list, Rng& rng) {
  const size_t n = list.size();
  if (n == 1) return list[0].id;
  const float max = list.max_logit();
  if (max == -std::numeric_limits<float>::infinity()) invalid("sampler: every token's logit is -inf");
  double total = 0.0;
  for (TokenCandidate& c : list) {
    c.p = std::exp(c.logit - max);
    total += c.p;
  }
  // Uniform in [0, 1) from the top 53 bits: exact, the same on every platform.
  const double u = static_cast<double>(rng.next_u64() >> 11) * (1.0 / 9007199254740992.0);
  const double target = total * u;
  double running = 0.0;
  for (const TokenCandidate& c : list) {
    running += c.p;
    if (running >= target) return c.id;
  }
  return list[n - 1].id;  // reached only through rounding: running ends at total > target
}

// ---- Sampler ----

Sampler::Sampler(SamplerParams params) : params_(params), rng_(params.seed) { validate_sampler_params(params_); }

void Sampler::reset(SamplerParams params) {
  validate_sampler_params(params);
  params_ = params;
  rng_ = Rng(params.seed);
}

int32_t Sampler::sample(const float* logits, int n_vocab, const std::vector<int32_t>& history) {
  return sample(logits, n_vocab, history.data(), history.size());
}

int32_t Sampler::sample(const float* logits, int n_vocab, const int32_t* history, size_t n_history) {
  if (n_history > 0 && history == nullptr) invalid("sampler: history pointer is null");
  check_logits_input(logits, n_vocab);
  for (size_t i = 0; i < n_history; ++i) {
    if (history[i] < 0 || history[i] >= n_vocab) {
      invalid("sampler: history token " + std::to_string(history[i]) + " is outside the vocabulary (0.." +
              std::to_string(n_vocab - 1) + ")");
    }
  }
  const bool penalize = params_.repeat_last_n != 0 && params_.repeat_penalty != 1.0f;
  if (params_.temp <= 0.0f && !penalize) return argmax_of_logits(logits, n_vocab);
  candidates_.load(logits, n_vocab);
  if (penalize) {
    const size_t window = params_.repeat_last_n < 0 ? n_history : std::min(n_history, static_cast<size_t>(params_.repeat_last_n));
    if (seen_.size() != static_cast<size_t>(n_vocab)) seen_.assign(static_cast<size_t>(n_vocab), 0);
    penalize_repeats(candidates_, history + (n_history - window), window, params_.repeat_penalty, seen_);
  }
  if (params_.temp <= 0.0f) return pick_argmax(candidates_);
  keep_top_k(candidates_, params_.top_k);
  keep_top_p(candidates_, params_.top_p);
  keep_min_p(candidates_, params_.min_p);
  scale_by_temperature(candidates_, params_.temp);
  return draw_weighted(candidates_, rng_);
}

}  // namespace alloy
