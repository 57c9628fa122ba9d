// Forward-pass parity tolerances: the largest allowed max_v |ours - llama.cpp| / max_v |llama.cpp|
// at any position (batch and decode), per weight type. llama.cpp here is node-llama-cpp 3.22.1
// (llama.cpp 0.5.0) on CPU, 1 thread, flash attention off, which on an AVX-512 machine loads
// ggml's AVX-512 build (libggml-cpu-sapphirerapids: AVX512 VNNI/BF16, AMX_INT8, llamafile
// GEMM for batches of 2+ tokens, REPACK). Measured over the tier's models (forward.test.ts:
// the 7 shared models, 52 discriminating random models, 6 with an F32 KV cache, 2 with real
// vocabularies) with the engine build of 2026-11-29 18:17 UTC, which sums float products in
// that build's AVX-512 / GEMM orders.
//
// Three kinds of agreement:
//  * exact: our engine runs the same operations in the same order, so results are
//    bit-identical (measured 0). The tolerance only leaves room for a last-bit difference.
//  * float activations (F16, BF16 weights): llama.cpp's generic kernels round the
//    activations to F16 / BF16 before the dot product, as ours do; on this AMX / AVX512-BF16
//    machine llama.cpp picks other kernels for them (see F16 below), so these are measured.
//  * quantized activations (Q8_0 / Q8_1 / Q8_K) where our float sums still differ from
//    llama.cpp's in the last bit somewhere: such a difference occasionally moves one
//    activation across a quantization rounding boundary, which changes some logits by about
//    1e-2 of max |logit| at that position and, through the KV cache, after it. llama.cpp
//    itself differs from its own batch path this much: its decode (one token) and batch
//    (GEMM) kernels disagree by up to 1.04e-2 (Q2_K), 6.3e-3 (Q5_K), 5.7e-3 (Q5_1) on the same
//    models (measured with forward.test.ts's sequences), as the README of ../shared/models
//    describes ("about 1e-2 on Q8_0/Q6_K, where a single rounding step can flip").
import type { ToleranceKey } from './parity-models';

/** Bit-identical results, with room for a last-bit difference. */
const EXACT = 1e-6;

/**
 * One quantization rounding step flipped by a last-bit difference upstream. The largest
 * single measurement was 1.68e-2 (llama Q2_K untied), and 2.6e-2 on Q6_K models of the same
 * recipe with other seeds (an earlier engine build, seeds 5-8); 3e-2 covers both.
 */
const QUANT_FLIP = 3e-2;

export const TOLERANCES: Record<ToleranceKey, number> = {
  // Measured 0 on stories260K, the 4 F32 random models and 2 with an F32 KV cache.
  F32: EXACT,
  // F16 / BF16 weights: measured 7e-4 at every position and 1.34e-3 at most (llama F16
  // untied). Not a flip: on this AMX machine (node-llama-cpp loads ggml's sapphirerapids
  // build) llama.cpp multiplies F16 matrices whose row count is a multiple of 32 in its AMX
  // buffer with F32 activations, while ggml's generic CPU path (ours) rounds the activations
  // to F16 first; that rounding is the likely cause (not yet shown by emulating it).
  // 3e-3 = measured x 2.2.
  // DEBT: emulate llama.cpp's per-CPU kernel choice for F16 (or pin the oracle to its AVX2
  // build) and bring this back to EXACT.
  F16: 3e-3,
  // Measured 1e-7 up to the first BF16 rounding flip, 3.46e-3 at most (llama BF16 untied):
  // our sums differ in the last bit from llama.cpp's AVX512-BF16 (VDPBF16PS) kernels, whose
  // own GEMM and vec_dot differ by up to 3.8e-3 on these models. 7e-3 = measured x 2.
  // DEBT: same as F16.
  BF16: 7e-3,
  // Measured 1.56e-2 (llama untied), 1.25e-2 (qwen2 tied), 1.95e-4 (tiny-qwen2-dscoder Q8_0).
  Q8_0: QUANT_FLIP,
  // Measured 1.62e-2 (llama untied), 1.46e-3 (tiny-qwen2-dscoder Q4_0), 1.6e-7 (qwen2 vocab).
  Q4_0: QUANT_FLIP,
  // Measured 1.41e-2 (qwen2 untied).
  Q4_1: QUANT_FLIP,
  // Measured 0 on all 4 models.
  Q5_0: EXACT,
  // Measured 0 on all 4 models.
  Q5_1: EXACT,
  // Measured 1.68e-2 (llama untied).
  Q2_K: QUANT_FLIP,
  // Measured 0 on all 4 models.
  Q3_K: EXACT,
  // Measured 1.40e-2 (tiny-qwen2-dscoder Q4_K), 9.4e-3 (llama untied, F32 KV).
  Q4_K: QUANT_FLIP,
  // Measured 8.4e-3 (llama tied), 7.2e-3 (deepseek vocab).
  Q5_K: QUANT_FLIP,
  // Measured 1.41e-2 (qwen2 untied), 1.26e-2 (tiny-qwen2-dscoder Q6_K).
  Q6_K: QUANT_FLIP,
  // Q4_K and Q6_K matrices; measured 1.1e-6 (tiny-qwen2-dscoder Q4_K_M).
  Q4_K_M: QUANT_FLIP,
};

export function toleranceFor(key: ToleranceKey): number {
  return TOLERANCES[key];
}
