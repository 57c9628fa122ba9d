// Loads the native addon (alloy.node) and describes its JS surface. The engine host and
// the CLI use it; the extension host never loads it (a native crash must not take VS Code down).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export interface ModelInfoJson {
  arch: string;
  n_layer: number | null;
  n_embd: number | null;
  n_head: number | null;
  n_head_kv: number | null;
  n_vocab: number;
  n_ctx_train: number | null;
  tensor_types: Record<string, number>;
  fim: { prefix: number; suffix: number; middle: number } | null;
  chat_template: boolean;
}

export interface SpecialTokensJson {
  bos: number;
  eos: number;
  eot: number;
  pad: number;
  fimPrefix: number;
  fimSuffix: number;
  fimMiddle: number;
  addBos: boolean;
  addEos: boolean;
  eog: number[];
}

export interface NativeModel {
  info(): ModelInfoJson;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(ids: ArrayLike<number>, renderSpecial: boolean): string;
  tokenToPiece(id: number, renderSpecial: boolean): Buffer;
  specialTokens(): SpecialTokensJson;
  /** The GGUF `tokenizer.chat_template` text, or null when the file has none. */
  chatTemplate(): string | null;
  close(): void;
}

export interface RandomModelOptions {
  arch: 'llama' | 'qwen2';
  weightType: string;
  nVocab?: number;
  nEmbd?: number;
  nLayer?: number;
  nHead?: number;
  nHeadKv?: number;
  nFf?: number;
  nCtxTrain?: number;
  nRot?: number;
  ropeFreqBase?: number;
  rmsEps?: number;
  tiedOutput?: boolean;
  seed?: number;
  weightStd?: number;
  qkStd?: number;
  embdStd?: number;
  outputStd?: number;
  normStd?: number;
  biasStd?: number;
  vocabPath?: string;
  name?: string;
  /** Per-matrix types by tensor name (e.g. `blk.0.attn_v.weight`), overriding weightType. */
  tensorTypes?: Record<string, string>;
  /** general.file_type (LLAMA_FTYPE_*); absent: derived from weightType. */
  fileType?: number;
}

/** Options of measureReadBandwidth (defaults: 1024 MiB, every hardware thread, 5 repeats). */
export interface ReadBandwidthOptions {
  mib?: number;
  threads?: number;
  repeats?: number;
}

/** Memory read bandwidth in GB/s (1e9 bytes/s): the best and median timed pass, and each pass. */
export interface ReadBandwidth {
  best_gbs: number;
  median_gbs: number;
  samples_gbs: number[];
  mib: number;
  threads: number;
  repeats: number;
}

/** One step of the Metal dispatch plan (defaults: 1 token at position 0, cache of pos0 + nTokens, last logits). */
export interface MetalPlanOptions {
  nTokens?: number;
  pos0?: number;
  kvCapacity?: number;
  allLogits?: boolean;
}

/** The Metal backend's planned dispatches for one step: the total, per layer, and each kernel's name in order. */
export interface MetalPlan {
  dispatches: number;
  per_layer: number[];
  pipelines: string[];
}

/** Sampling parameters (defaults: greedy temp 0, topK 40, topP 0.95, minP 0.05, no repeat penalty, repeatLastN 64, seed 0). */
export interface SamplerOptions {
  temp?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  repeatLastN?: number;
  seed?: number;
}

export interface NativeSampler {
  /** The next token id; `history` (prompt + generated so far) feeds the repetition penalty. */
  sample(logits: Float32Array, history?: Int32Array | number[]): number;
}

/** Test-only fault injection: each makes the forward pass deliberately wrong (parity tier). */
export interface ContextFaults {
  /** NEOX-RoPE models (qwen2) rotate consecutive pairs instead. */
  normalRopeInsteadOfNeox?: boolean;
  /** q/k/v biases are not added. */
  dropQkvBias?: boolean;
  /** Keys are rotated for position p + 1. */
  kvPositionOffByOne?: boolean;
  /** Every RMSNorm leaves out its weight. */
  skipNormWeight?: boolean;
  /** A ggml type name: in matmuls with weights of that type, the first block of each row counts 1.5x. */
  wrongBlockScaleType?: string;
}

export interface ContextOptions {
  /** KV cache positions (default 2048). */
  nCtx?: number;
  /** Threads (default 1). */
  threads?: number;
  /** KV cache element type (default 'f16', as llama.cpp). */
  kvType?: 'f16' | 'f32';
  /** Tokens evaluated together during prompt processing (default 512, capped at nCtx). */
  nBatch?: number;
  faults?: ContextFaults;
}

export interface NativeContext {
  /**
   * Evaluates `tokens` after the `nPast` already evaluated. Returns the logits of the last
   * token (nVocab floats), or of every new token (tokens.length x nVocab) with `allLogits`.
   * Throws kind `invalid_argument` for bad ids, `prompt_too_long` for tokens past nCtx.
   */
  eval(tokens: Int32Array | number[], allLogits: boolean): Float32Array;
  /** Positions already evaluated (held in the KV cache). */
  readonly nPast: number;
  /** Drops cached positions >= n, so the next eval continues from position n. */
  keepPrefix(n: number): void;
  dispose(): void;
}

/** Load stages reported by loadModel: parse and validate, read the weights into memory, bind them. */
export type LoadPhase = 'open' | 'read' | 'bind';

export interface LoadProgress {
  phase: LoadPhase;
  /** Overall progress of the whole load, 0..1, non-decreasing. */
  fraction: number;
}

export interface EngineOptions {
  /** KV positions of each slot (default 2048). */
  nCtx?: number;
  /** Threads (default 1). */
  threads?: number;
  /** Tokens evaluated together during prompt processing (default 512, capped at nCtx). */
  nBatch?: number;
  kvType?: 'f16' | 'f32';
  /** Cap on the KV memory of all slots together (default: room for 3 slots). Idle slots are evicted least recently used first. */
  kvBudgetBytes?: number;
  /** Which backend evaluates: Metal when available ('auto', the default), or forced. Metal that cannot run falls back to the CPU; `stats().backend` says why. */
  backend?: BackendPreference;
}

export type BackendPreference = 'auto' | 'cpu' | 'metal';

/** The backend an engine runs on, as chosen at construction. */
export interface BackendReport {
  preference: BackendPreference;
  kind: 'cpu' | 'metal';
  /** CPU: the SIMD level of the kernels (e.g. 'avx2'); Metal: the GPU's name. */
  device: string;
  /** Metal: the GPU shares the CPU's memory. */
  unifiedMemory: boolean;
  /** Metal: compute dispatches per decoded token (0 on the CPU). */
  dispatchesPerToken: number;
  /** Why Metal is not in use although the preference allowed it ('' when it is, or when 'cpu' was asked). */
  fallbackReason: string;
}

export interface GenerateOptions {
  /** The KV sequence to run in ('completion', 'chat', 'speculative', ...; 1-64 chars). A new request on a slot supersedes the one running there. */
  slot: string;
  /** The whole prompt; the slot reuses its longest common prefix with the tokens it holds. */
  tokens: Int32Array | number[];
  /** Tokens to generate at most (>= 0; 0 only evaluates the prompt). */
  maxTokens: number;
  sampling?: SamplerOptions;
  /** Token ids that end generation, in addition to the model's end-of-generation tokens. */
  stopTokens?: number[];
  /** Do not stop at end-of-generation tokens. */
  ignoreEos?: boolean;
  /** Milliseconds from submission after which generation stops with 'time_budget', keeping what it made. */
  timeBudgetMs?: number;
}

export type StopReason = 'eog' | 'max_tokens' | 'time_budget' | 'context_full' | 'cancelled' | 'superseded' | 'error';

export interface TokenEvent {
  type: 'token';
  /** The token id. */
  token: number;
  /** Text this token completes (complete UTF-8 only: may be '' while a character is split across tokens). */
  text: string;
  /** 0-based index among the generated tokens. */
  index: number;
  /** Milliseconds since the request was submitted. */
  tMs: number;
}

export interface DoneEvent {
  type: 'done';
  stopReason: StopReason;
  /** Set when stopReason is 'error'. */
  error?: { kind: string; message: string };
  /** Text held back by the streaming detokenizer, flushed at the end ('' usually). */
  text: string;
  nPrompt: number;
  /** Prompt tokens found in the slot's KV cache (not evaluated again). */
  nReused: number;
  /** Prompt tokens evaluated. */
  nEvaluated: number;
  nGenerated: number;
  /** Milliseconds: waiting for the worker, evaluating the prompt, submission to first token, total. */
  queueMs: number;
  promptMs: number;
  firstTokenMs: number;
  totalMs: number;
  /** For cancelled / superseded: milliseconds from the cancel call to generation stopping. */
  cancelLatencyMs: number;
}

export type GenerateEvent = TokenEvent | DoneEvent;

export interface SlotStats {
  name: string;
  nCached: number;
  kvBytes: number;
  busy: boolean;
}

export interface EngineStats {
  slots: SlotStats[];
  kvBudgetBytes: number;
  kvBytesInUse: number;
  activeRequests: number;
  queuedRequests: number;
  slotsEvicted: number;
  backend: BackendReport;
}

export interface NativeEngine {
  /**
   * Queues a generation on the engine's worker thread and returns its request id. Events
   * arrive on the JS thread in order: tokens, then exactly one 'done'. Throws (kind
   * `invalid_argument` / `prompt_too_long`) synchronously for bad options, ids outside the
   * vocabulary, or a prompt that does not fit the slot's context.
   */
  generate(options: GenerateOptions, onEvent: (event: GenerateEvent) => void): number;
  /** Cancels a queued or running request (its 'done' says 'cancelled'); false if it is unknown or finished. */
  cancel(requestId: number): boolean;
  stats(): EngineStats;
  /** Cancels every request, stops the worker and frees the KV memory. */
  dispose(): void;
}

export interface NativeAddon {
  Model: new (path: string) => NativeModel;
  /**
   * Opens, validates and reads a model on a worker thread (weights paged in, bound for
   * evaluation). Rejects with the engine's typed errors (bad_magic, truncated_file, io_error, ...).
   */
  loadModel(path: string, onProgress?: (progress: LoadProgress) => void): Promise<NativeModel>;
  /** The generation engine over a model: a worker thread, KV slots with prefix reuse. */
  Engine: new (model: NativeModel, options?: EngineOptions) => NativeEngine;
  /** Binds the model's weights (errors such as `unsupported_tensor_type` surface here). */
  Context: new (model: NativeModel, options?: ContextOptions) => NativeContext;
  Sampler: new (options?: SamplerOptions) => NativeSampler;
  writeRandomModel(options: RandomModelOptions, outPath: string): void;
  /** Reads a buffer of `mib` MiB with `threads` threads (synchronous; benchmarks' bandwidth bound). */
  measureReadBandwidth(options?: ReadBandwidthOptions): ReadBandwidth;
  /** The Metal dispatch plan of one step (computed on any platform; checked before it is returned). */
  metalPlan(model: NativeModel, options?: MetalPlanOptions): MetalPlan;
  engineVersion: string;
  cpuFeatures: string[];
}

/** An error thrown by the addon: `kind` is the engine's stable error kind. */
export interface EngineError extends Error {
  kind: string;
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof Error && typeof (e as Partial<EngineError>).kind === 'string';
}

/** Where alloy.node may be: next to the bundle (packaged) or in the cmake-js build tree. */
export function addonCandidates(fromDir: string): string[] {
  const roots = [fromDir, path.resolve(fromDir, '..'), path.resolve(fromDir, '..', '..')];
  const out: string[] = [];
  for (const root of roots) {
    out.push(path.join(root, 'alloy.node'), path.join(root, 'build', 'Release', 'alloy.node'));
  }
  return out;
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const override = process.env['ALLOY_ADDON_PATH'];
  const candidates = override ? [override] : addonCandidates(__dirname);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    const err = new Error(`native addon alloy.node not found (looked in: ${candidates.join(', ')}); run \`npm run build\``) as EngineError;
    err.kind = 'addon_missing';
    throw err;
  }
  // The path is only known at run time; createRequire keeps the bundler out of it.
  cached = createRequire(__filename)(found) as NativeAddon;
  return cached;
}
