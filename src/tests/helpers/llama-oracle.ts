// llama.cpp (through node-llama-cpp) as the test oracle. Never used by the product.
import { getLlama, LlamaLogLevel, type Llama, type LlamaContext, type LlamaModel } from 'node-llama-cpp';

let llama: Promise<Llama> | undefined;

export function oracle(): Promise<Llama> {
  llama ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  return llama;
}

export async function loadOracleModel(modelPath: string, vocabOnly: boolean): Promise<LlamaModel> {
  const l = await oracle();
  return l.loadModel({ modelPath, vocabOnly });
}

/** The KV cache element type: llama.cpp's default is F16 (K and V rounded to f16). */
export type KvType = 'f16' | 'f32';

export interface OracleOptions {
  kvType?: KvType;
  threads?: number;
}

/**
 * A context with the reference settings of ../shared/models/README.md: CPU, flash attention
 * off (node-llama-cpp's default "auto" turns it on, which changes the attention numerics),
 * the requested KV type, and room for `nTokens` tokens in one batch.
 */
async function createOracleContext(model: LlamaModel, nTokens: number, options: OracleOptions): Promise<LlamaContext> {
  const kv = options.kvType === 'f32' ? 'F32' : 'F16';
  const size = Math.max(64, nTokens + 8);
  return model.createContext({
    contextSize: size,
    batchSize: size,
    threads: options.threads ?? 1,
    flashAttention: false,
    experimentalKvCacheKeyType: kv,
    experimentalKvCacheValueType: kv,
  });
}

function denseLogits(logits: ReadonlyMap<number, number> | undefined, nVocab: number): Float32Array {
  if (!logits) throw new Error('llama.cpp returned no logits');
  if (logits.size !== nVocab) throw new Error(`llama.cpp returned ${logits.size} logits, expected ${nVocab}`);
  const dense = new Float32Array(nVocab);
  for (const [token, value] of logits) dense[token] = value;
  return dense;
}

/** llama.cpp's raw logits (indexed by token id) after evaluating `tokens` from an empty context. */
export async function oracleLastLogits(model: LlamaModel, tokens: number[], nVocab: number, threads = 1): Promise<Float32Array> {
  const all = await oracleAllLogits(model, tokens, nVocab, { threads }, [tokens.length - 1]);
  return all.subarray(0, nVocab);
}

/**
 * llama.cpp's raw logits after each of `tokens` (one batch from an empty context), flattened
 * as positions × n_vocab like the engine's `eval(tokens, true)`. With `positions`, only those
 * positions, in that order.
 */
export async function oracleAllLogits(
  model: LlamaModel,
  tokens: readonly number[],
  nVocab: number,
  options: OracleOptions = {},
  positions: readonly number[] = tokens.map((_, i) => i),
): Promise<Float32Array> {
  const context = await createOracleContext(model, tokens.length, options);
  try {
    const wanted = new Set(positions);
    const input = tokens.map((t, i) => (wanted.has(i) ? ([t, { generateNext: { logits: true } }] as const) : t));
    const out = await context.getSequence().controlledEvaluate(input as never);
    const flat = new Float32Array(positions.length * nVocab);
    positions.forEach((p, row) => flat.set(denseLogits(out[p]?.next?.logits, nVocab), row * nVocab));
    return flat;
  } finally {
    await context.dispose();
  }
}

/** The top two logits of one row: llama.cpp's greedy pick is the first index of the maximum. */
export function topTwo(logits: ArrayLike<number>): { top: number; margin: number; maxAbs: number } {
  let top = 0;
  let best = -Infinity;
  let second = -Infinity;
  let maxAbs = 0;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i] as number;
    maxAbs = Math.max(maxAbs, Math.abs(v));
    if (v > best) {
      second = best;
      best = v;
      top = i;
    } else if (v > second) {
      second = v;
    }
  }
  return { top, margin: best - second, maxAbs };
}

export interface GreedyRun {
  /** The generated tokens (not including the prompt). */
  tokens: number[];
  /** Per step: top-1 minus top-2 logit of the distribution the token was picked from. */
  margins: number[];
  /** Per step: the largest |logit| of that distribution. */
  maxAbs: number[];
  /** Per step: the logits the token was picked from. */
  logits: Float32Array[];
}

/** llama.cpp's greedy continuation: the prompt in one batch, then one token per evaluation. */
export async function oracleGreedy(
  model: LlamaModel,
  prompt: readonly number[],
  steps: number,
  nVocab: number,
  options: OracleOptions = {},
): Promise<GreedyRun> {
  const context = await createOracleContext(model, prompt.length + steps, options);
  try {
    const sequence = context.getSequence();
    const run: GreedyRun = { tokens: [], margins: [], maxAbs: [], logits: [] };
    let batch: readonly number[] = prompt;
    for (let step = 0; step < steps; step++) {
      const input = batch.map((t, i) => (i === batch.length - 1 ? ([t, { generateNext: { logits: true } }] as const) : t));
      const out = await sequence.controlledEvaluate(input as never);
      const logits = denseLogits(out[batch.length - 1]?.next?.logits, nVocab);
      const pick = topTwo(logits);
      run.logits.push(logits);
      run.tokens.push(pick.top);
      run.margins.push(pick.margin);
      run.maxAbs.push(pick.maxAbs);
      batch = [pick.top];
    }
    return run;
  } finally {
    await context.dispose();
  }
}
