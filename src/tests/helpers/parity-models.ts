// The models of the forward-pass parity tier: stories260K and the tiny models of
// ../shared/models, and random models from our writer for every weight type, both
// architectures, tied and untied output, made "discriminating" (see DISCRIMINATING below)
// and cached in os.tmpdir()/alloy-parity-models keyed by their recipe (files unused for two days are removed).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadAddon, type RandomModelOptions } from '../../engine/native';
import type { KvType } from './llama-oracle';
import { sharedModels, vocabPath } from './paths';

export const WEIGHT_TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'] as const;
export type WeightType = (typeof WEIGHT_TYPES)[number];
/** A tolerance key: a pure weight type, or a llama.cpp mix of several. */
export type ToleranceKey = WeightType | 'Q4_K_M';

export interface ParityCase {
  /** Label in test names and the printed table. */
  name: string;
  /** The weight type the tolerance is taken from. */
  toleranceKey: ToleranceKey;
  nVocab: number;
  prompt: readonly number[];
  /** Greedy tokens generated after the prompt. */
  greedySteps: number;
  kvType: KvType;
  /** llama.cpp's greedy continuation as published in ../shared/models/README.md, if any. */
  referenceGreedy?: readonly number[];
  /** For random models: the writer options (the file is generated on first use). */
  recipe?: RandomModelOptions;
  /** The GGUF file (generating and caching a random model first). */
  file(): string;
}

/**
 * The discriminating recipe. With the writer's defaults (every std 0.02) attention is almost
 * uniform and some faults barely move the logits (../shared/models/README.md: normal instead
 * of NEOX RoPE moves them by 2-4e-2 of max |logit|, inside a quantized tolerance). Measured
 * first with llama.cpp alone (the fault written into the file: bias std 0 = dropped biases,
 * norm std 0 = skipped norm weights, arch llama vs qwen2 with zero biases = normal vs NEOX
 * RoPE; F32, seeds 1-3, max |Δlogit| / max |logit| over 47 positions):
 *   defaults:                      bias 0.30, norm 0.05, RoPE 0.08
 *   qk 0.08, bias 0.1, norm 0.2:   bias 0.84-1.24, norm 0.49-0.57, RoPE 1.28-1.50
 *   qk 0.15:                       RoPE 1.55, but llama.cpp's greedy margins fall to 1e-5
 *   bias 0.2 / bias 0.2 + qk 0.1:  bias up, RoPE and KV-position effects down (biases
 *                                  dominate q.k); embeddings 0.3: every fault 3-10x weaker
 * then with the engine's fault switches on all 52 random models, seeds 1 and 2: the smallest
 * effect of each fault was RoPE 0.54, biases 0.20, KV position 0.23, norm weights 0.42, block
 * scale 0.53 (see forward-faults.test.ts). So: q/k weights 0.08 (attention peaked enough for
 * RoPE and positions to matter, not so peaked that one rounding step decides which key
 * wins), q/k/v biases 0.1, norm weights 1 +- 0.2; embeddings and other matrices 0.02.
 */
export const DISCRIMINATING = { qkStd: 0.08, biasStd: 0.1, normStd: 0.2, weightStd: 0.02, embdStd: 0.02, outputStd: 0.02 } as const;

/**
 * Shapes: n_embd and n_ff multiples of 256 (K-quants), 2 layers. qwen2 as Qwen2.5 has it:
 * 4x grouped-query attention, rope base 1e6, eps 1e-6, a vocabulary (1000) that is no
 * multiple of a block or vector width; llama with an explicit rope.dimension_count and
 * 2x GQA at head dim 64, eps 1e-5, 512 tokens.
 */
const ARCH_SHAPES = {
  qwen2: { nVocab: 1000, nEmbd: 256, nLayer: 2, nHead: 8, nHeadKv: 2, nFf: 512, ropeFreqBase: 1_000_000, rmsEps: 1e-6 },
  llama: { nVocab: 512, nEmbd: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 512, nRot: 64, ropeFreqBase: 10_000, rmsEps: 1e-5 },
} as const;

export type Arch = keyof typeof ARCH_SHAPES;

/**
 * Seed 1 everywhere, not searched: over the 26 untied models' 32 greedy steps llama.cpp's
 * top-1/top-2 margin is below 4e-2 of max |logit| in 34% of the steps (below 4e-3 in 4.3%,
 * 2e-5 in 0.1%; tied models, which mostly repeat a token: 5.8%, 1.0%, 0%). With a flip-level
 * tolerance of 2e-2 (tolerances.ts) no seed keeps an untied model's margins above twice it
 * for 32 steps, so the greedy-token check is long for tied models and exact types; the
 * decode-logits check covers every step of every model regardless.
 */
const SEED = 1;

export function discriminatingRecipe(arch: Arch, weightType: WeightType, tiedOutput: boolean): RandomModelOptions {
  return {
    arch,
    weightType,
    tiedOutput,
    ...ARCH_SHAPES[arch],
    ...DISCRIMINATING,
    seed: SEED,
    name: `alloy-parity-${arch}-${weightType}-${tiedOutput ? 'tied' : 'untied'}`,
  };
}

/** A deterministic prompt of `length` ids in [first, nVocab) (xorshift32 from `seed`). */
export function syntheticPrompt(nVocab: number, length: number, seed: number, first = 3): number[] {
  let state = (seed * 2654435761) >>> 0 || 1;
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    out.push(first + (state % (nVocab - first)));
  }
  return out;
}

export const PARITY_CACHE_DIR = path.join(os.tmpdir(), 'alloy-parity-models');
/** Cached files no run has used for this long are removed (recipes change as the tests do). */
const CACHE_UNUSED_MS = 2 * 24 * 3600 * 1000;
let cachePruned = false;

function pruneUnusedCacheFiles(now: number): void {
  cachePruned = true;
  for (const name of fs.existsSync(PARITY_CACHE_DIR) ? fs.readdirSync(PARITY_CACHE_DIR) : []) {
    const file = path.join(PARITY_CACHE_DIR, name);
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat !== undefined && now - stat.mtimeMs > CACHE_UNUSED_MS) fs.rmSync(file, { force: true });
  }
}

/**
 * The file for a writer recipe, generated once. The key covers the options and the addon's
 * engine version; the writer is deterministic for a seed on every platform.
 */
export function ensureRandomModel(options: RandomModelOptions): string {
  const addon = loadAddon();
  const canonical = JSON.stringify(Object.entries(options).sort(([a], [b]) => a.localeCompare(b)));
  const key = createHash('sha256').update(`${addon.engineVersion}\n${canonical}`).digest('hex').slice(0, 16);
  const file = path.join(PARITY_CACHE_DIR, `${options.name ?? 'model'}-${key}.gguf`);
  const now = Date.now();
  if (!cachePruned) pruneUnusedCacheFiles(now);
  if (fs.existsSync(file)) {
    fs.utimesSync(file, now / 1000, now / 1000); // marks it used, so pruning keeps it
    return file;
  }
  fs.mkdirSync(PARITY_CACHE_DIR, { recursive: true });
  // Written under a unique name and renamed, so a concurrent run never reads a partial file.
  const partial = `${file}.${process.pid}.partial`;
  addon.writeRandomModel(options, partial);
  fs.renameSync(partial, file);
  return file;
}

const PROMPT_LENGTH = 16;
const GREEDY_STEPS = 32;

function randomCase(arch: Arch, weightType: WeightType, tiedOutput: boolean, kvType: KvType): ParityCase {
  const recipe = discriminatingRecipe(arch, weightType, tiedOutput);
  const nVocab = ARCH_SHAPES[arch].nVocab;
  return {
    name: `${arch} ${weightType} ${tiedOutput ? 'tied' : 'untied'}${kvType === 'f32' ? ' kv=f32' : ''}`,
    toleranceKey: weightType,
    nVocab,
    prompt: syntheticPrompt(nVocab, PROMPT_LENGTH, 1),
    greedySteps: GREEDY_STEPS,
    kvType,
    recipe,
    file: () => ensureRandomModel(recipe),
  };
}

/** Every weight type × both architectures × tied and untied, with llama.cpp's default F16 KV cache. */
export function randomCases(): ParityCase[] {
  return WEIGHT_TYPES.flatMap((t) => (['qwen2', 'llama'] as const).flatMap((arch) => [false, true].map((tied) => randomCase(arch, t, tied, 'f16'))));
}

/** A few with an F32 KV cache, where no F16 rounding of K and V hides small errors. */
export function randomF32KvCases(): ParityCase[] {
  return (['F32', 'Q8_0', 'Q4_K'] as const).flatMap((t) => (['qwen2', 'llama'] as const).map((arch) => randomCase(arch, t, false, 'f32')));
}

// The code prompt of ../shared/models/README.md, tokenized by llama.cpp.
const DSCODER_CODE_PROMPT = [32013, 1551, 12606, 249, 305, 2711, 7, 77, 1772, 185, 251];
const QWEN25_CODE_PROMPT = [750, 75698, 1445, 982, 257];

/** Discriminating random models with real vocabularies (large output matrices, real token ids). */
export function realVocabCases(): ParityCase[] {
  const make = (name: string, vocab: 'deepseek-coder' | 'qwen2', nVocab: number, weightType: WeightType, tiedOutput: boolean, prompt: number[]): ParityCase => {
    const recipe: RandomModelOptions = {
      ...discriminatingRecipe('qwen2', weightType, tiedOutput),
      nVocab: 0,
      vocabPath: vocabPath(vocab),
      name: `alloy-parity-${name}`,
    };
    return { name, toleranceKey: weightType, nVocab, prompt, greedySteps: GREEDY_STEPS, kvType: 'f16', recipe, file: () => ensureRandomModel(recipe) };
  };
  return [
    make('qwen2 Q5_K untied deepseek-vocab', 'deepseek-coder', 32256, 'Q5_K', false, DSCODER_CODE_PROMPT),
    make('qwen2 Q4_0 tied qwen2-vocab', 'qwen2', 151936, 'Q4_0', true, QWEN25_CODE_PROMPT),
  ];
}

/** stories260K (trained, llama) and the tiny random models shipped in ../shared/models. */
export function sharedCases(): ParityCase[] {
  const shared = (file: string, toleranceKey: ToleranceKey, nVocab: number, prompt: number[], greedySteps: number, referenceGreedy?: number[]): ParityCase => ({
    name: file.replace(/\.gguf$/, ''),
    toleranceKey,
    nVocab,
    prompt,
    greedySteps,
    kvType: 'f16',
    ...(referenceGreedy ? { referenceGreedy } : {}),
    file: () => path.join(sharedModels, file),
  });
  return [
    shared('stories260K.gguf', 'F32', 512, [1, 403, 407, 261, 378], 40, STORIES_REFERENCE),
    shared('tiny-qwen2-dscoder-s1-Q8_0.gguf', 'Q8_0', 32256, DSCODER_CODE_PROMPT, GREEDY_STEPS),
    shared('tiny-qwen2-dscoder-s1-Q4_0.gguf', 'Q4_0', 32256, DSCODER_CODE_PROMPT, GREEDY_STEPS),
    shared('tiny-qwen2-dscoder-s1-Q4_K.gguf', 'Q4_K', 32256, DSCODER_CODE_PROMPT, GREEDY_STEPS),
    shared('tiny-qwen2-dscoder-s1-Q6_K.gguf', 'Q6_K', 32256, DSCODER_CODE_PROMPT, GREEDY_STEPS),
    shared('tiny-qwen2-dscoder-s1-Q4_K_M.gguf', 'Q4_K_M', 32256, DSCODER_CODE_PROMPT, GREEDY_STEPS),
    shared('tiny-qwen2-e64-qwen25vocab-tied-s1-Q8_0.gguf', 'Q8_0', 151936, QWEN25_CODE_PROMPT, GREEDY_STEPS),
  ];
}

/** llama.cpp's 40 greedy tokens after "Once upon a time" (../shared/models/README.md). */
export const STORIES_REFERENCE = [
  432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396, 267, 337, 410, 408, 419, 292, 411, 322, 265, 282, 295, 433, 426, 385, 328, 432,
  358, 394, 261, 370, 432, 352, 266, 268, 388, 426,
];
