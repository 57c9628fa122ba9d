// What turns tokens into KV cache entries and logits: the CPU forward pass (forward.h, one
// Backend call per op) or the Metal one (backend/metal/plan/metal_forward.h, one command
// buffer per step). The scheduler and Context hold whichever backend_selection.h chose.
#pragma once

#include <cstdint>

#include "interrupt.h"
#include "kv_cache.h"

namespace alloy {

// The size of the next step over `remaining` tokens, at most `max_step`, chosen so that no step
// of one token follows when more than one is left: a one-token step runs the decode kernels,
// which round differently from the batched ones, so a prompt's logits would otherwise depend on
// how it happened to be split (by batch, by the scheduler's chunks, by prefix reuse).
inline int next_step_size(int remaining, int max_step) {
  if (remaining <= max_step) return remaining;
  if (remaining - max_step == 1 && max_step > 2) return max_step - 1;
  return max_step;
}

class StepEvaluator {
 public:
  virtual ~StepEvaluator() = default;

  // The most tokens evaluated in one step.
  virtual int n_batch() const = 0;

  // Evaluates tokens[0 .. n) at positions cache.n_filled() .. + n - 1 of `cache`, in steps of
  // up to n_batch(), committing each step to the cache. Writes n_vocab logits per token to
  // `logits` when all_logits, else those of the last token only (none when logits is null:
  // the tokens only fill the cache). The caller has validated the ids and that the tokens fit
  // in the cache. With an interrupter, it is asked between layers (CPU) or between steps
  // (Metal); when it says stop, Interrupted is thrown and the current step is not committed
  // (earlier steps are).
  virtual void eval(KvCache& cache, const int32_t* tokens, int n, bool all_logits, float* logits,
                    const Interrupter* interrupter = nullptr) = 0;
};

}  // namespace alloy
