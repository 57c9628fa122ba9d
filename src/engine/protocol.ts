// The one protocol between the extension host (EngineClient, client.ts) and the engine host
// (engine-host.ts, a child process owning the native engine): JSON-RPC 2.0 over the child's
// stdin/stdout, framed by vscode-jsonrpc (Content-Length headers). Every request, result and
// notification is typed here. Bump PROTOCOL_VERSION on any incompatible change; `initialize`
// compares it on both sides. Errors are JSON-RPC errors whose `data.kind` is the stable kind.
import { NotificationType, RequestType, RequestType0 } from 'vscode-jsonrpc';

import type { BackendPreference, BackendReport, EngineStats, LoadPhase, SamplerOptions } from './native';

export const PROTOCOL_VERSION = 3;

export type { BackendPreference, BackendReport, EngineStats, LoadPhase } from './native';

// ---- initialize -------------------------------------------------------------------------

export interface InitializeParams {
  protocolVersion: number;
  /** Who is asking, for the host's log (e.g. 'alloy-vscode 0.1.0'). */
  client: string;
}

export interface InitializeResult {
  protocolVersion: number;
  engineVersion: string;
  backend: 'cpu';
  /** CPU features the engine's kernels use (e.g. 'avx2', 'fma', 'neon'). */
  simd: string[];
  /** Threads loadModel uses when none are given. */
  defaultThreads: number;
  pid: number;
}

// ---- models -----------------------------------------------------------------------------

export interface LoadModelParams {
  /** Absolute path of a GGUF file. */
  path: string;
  /** KV positions per slot (default: the model's training context, at most 4096). */
  contextSize?: number;
  threads?: number;
  /** Cap on the KV memory of all slots together, MiB (default: room for 3 slots). */
  kvBudgetMb?: number;
  /** 'auto' (default): Metal when it can run, else the CPU; 'cpu' / 'metal' force one (Metal that cannot run still falls back, with the reason in `backend`). */
  backend?: BackendPreference;
}

export interface FimTokenIds {
  prefix: number;
  suffix: number;
  middle: number;
}

export interface ModelInfo {
  path: string;
  arch: string;
  nVocab: number;
  nCtxTrain: number | null;
  nLayer: number | null;
  nEmbd: number | null;
  /** KV positions per slot, as loaded. */
  contextSize: number;
  threads: number;
  /** The model's fill-in-the-middle tokens, or null when it has none. */
  fim: FimTokenIds | null;
  hasChatTemplate: boolean;
  /** Tensor count per ggml type name. */
  tensorTypes: Record<string, number>;
  fileSizeBytes: number;
  loadMs: number;
  /** The backend the model runs on, and why not Metal when it is not. */
  backend: BackendReport;
}

export interface LoadProgressParams {
  phase: LoadPhase;
  /** Overall progress 0..1, non-decreasing. */
  fraction: number;
}

export interface TokenizeParams {
  text: string;
  /** Add BOS/EOS as the model's vocabulary asks (default true). */
  addSpecial?: boolean;
  /** Turn special-token text such as `<|im_start|>` into its token (default false). */
  parseSpecial?: boolean;
}

export interface TokenizeResult {
  tokens: number[];
}

// ---- generation -------------------------------------------------------------------------

/** Sampling, as the engine takes it (defaults: greedy temp 0, topK 40, topP 0.95, minP 0.05, no repeat penalty, repeatLastN 64, seed 0). */
export type SamplingParams = SamplerOptions;

/** Fields complete and chat share. `requestId` is chosen by the client, unique among its running requests. */
export interface GenerationParams {
  requestId: string;
  maxTokens: number;
  sampling?: SamplingParams;
  /** Generation stops before the first occurrence of any of these strings (it is not returned). */
  stop?: string[];
  /** Milliseconds from arrival after which generation stops with 'time_budget', keeping what it made. */
  timeBudgetMs?: number;
  /** Keep generating past end-of-generation tokens (tests, benchmarks). */
  ignoreEos?: boolean;
}

export interface ContextChunk {
  /** The file the text comes from (shown to repository-aware FIM models). */
  path?: string;
  text: string;
}

/** Fill-in-the-middle completion; runs in the 'completion' slot, superseding the one running there. */
export interface CompleteParams extends GenerationParams {
  prefix: string;
  suffix: string;
  /** Extra context (other files), most relevant first; dropped from the end when the context is short. */
  chunks?: ContextChunk[];
  filePath?: string;
  repoName?: string;
  /**
   * A guess made ahead of the user (the suggestion after the one shown): runs in the
   * 'speculative' slot, so it neither supersedes nor evicts the live completion's cache.
   */
  speculative?: boolean;
}

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** A chat turn rendered with the model's chat template; runs in the 'chat' slot. */
export interface ChatParams extends GenerationParams {
  messages: ChatMessage[];
}

export type StopReason = 'eog' | 'max_tokens' | 'time_budget' | 'context_full' | 'cancelled' | 'superseded' | 'stop';

export interface GenerationTimings {
  /** Waiting for the engine's worker. */
  queueMs: number;
  /** Evaluating the prompt tokens that were not reused. */
  promptMs: number;
  /** Arrival to first generated token. */
  firstTokenMs: number;
  totalMs: number;
  /** For 'cancelled' / 'superseded': cancel call to generation stopped. */
  cancelLatencyMs: number;
}

export interface GenerationResult {
  /** Everything streamed in `tokens` notifications, concatenated (stop string excluded). */
  text: string;
  stopReason: StopReason;
  nPrompt: number;
  /** Prompt tokens found in the slot's KV cache (not evaluated again). */
  nReused: number;
  /** Prompt tokens evaluated. */
  nEvaluated: number;
  /** Tokens the engine generated (may exceed the streamed ids by the one in flight at a cancel). */
  nGenerated: number;
  timings: GenerationTimings;
}

export interface CancelParams {
  requestId: string;
}

export interface CancelResult {
  /** False when the request is unknown or had already finished. */
  cancelled: boolean;
}

// ---- stats, shutdown --------------------------------------------------------------------

export interface RequestCounts {
  /** Requests answered with a result. */
  served: number;
  /** Generations that ended cancelled or superseded. */
  cancelled: number;
  /** Requests answered with an error (bad input included). */
  failed: number;
}

export interface StatsResult {
  pid: number;
  uptimeMs: number;
  rssBytes: number;
  model: ModelInfo | null;
  engine: EngineStats | null;
  requests: RequestCounts;
}

// ---- notifications (host -> client) -----------------------------------------------------

/** Generated text as it is produced, in order, before the request's result. */
export interface TokensParams {
  requestId: string;
  /** Text to append ('' while a character or a possible stop string is held back). */
  text: string;
  /** The token ids this chunk covers ([] for text released at the end). */
  ids: number[];
  /** Index of ids[0] among the generated tokens (for ids = [], the tokens streamed before). */
  index: number;
  /** Milliseconds since the request arrived. */
  tMs: number;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogParams {
  level: LogLevel;
  message: string;
}

// ---- errors -----------------------------------------------------------------------------

/**
 * Error kinds of the protocol itself. Engine kinds pass through unchanged (bad_magic,
 * truncated_file, io_error, unsupported_*, out_of_memory, chat_template_error, ...).
 */
export type ProtocolErrorKind =
  | 'parse_error'
  | 'invalid_request'
  | 'unknown_method'
  | 'invalid_params'
  | 'protocol_mismatch'
  | 'no_model'
  | 'busy_loading'
  | 'prompt_too_long'
  | 'not_a_file'
  | 'internal';

export interface ErrorData {
  kind: string;
}

/** JSON-RPC error codes: the standard ones, and one code for every engine-level kind. */
export const ErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  /** Everything else; `data.kind` tells which. Outside JSON-RPC's reserved -32768..-32000. */
  engine: 1,
} as const;

export function errorCodeFor(kind: string): number {
  switch (kind) {
    case 'parse_error':
      return ErrorCode.parseError;
    case 'invalid_request':
      return ErrorCode.invalidRequest;
    case 'unknown_method':
      return ErrorCode.methodNotFound;
    case 'invalid_params':
      return ErrorCode.invalidParams;
    case 'internal':
      return ErrorCode.internal;
    default:
      return ErrorCode.engine;
  }
}

// ---- the method table -------------------------------------------------------------------

type NoParams = undefined;

/** Params and result of every request, by method name. */
export interface Methods {
  initialize: { params: InitializeParams; result: InitializeResult };
  loadModel: { params: LoadModelParams; result: ModelInfo };
  unloadModel: { params: NoParams; result: Record<string, never> };
  modelInfo: { params: NoParams; result: ModelInfo };
  tokenize: { params: TokenizeParams; result: TokenizeResult };
  complete: { params: CompleteParams; result: GenerationResult };
  chat: { params: ChatParams; result: GenerationResult };
  cancel: { params: CancelParams; result: CancelResult };
  stats: { params: NoParams; result: StatsResult };
  shutdown: { params: NoParams; result: Record<string, never> };
}

export type MethodName = keyof Methods;
export type ParamsOf<M extends MethodName> = Methods[M]['params'];
export type ResultOf<M extends MethodName> = Methods[M]['result'];

export const METHOD_NAMES: readonly MethodName[] = [
  'initialize',
  'loadModel',
  'unloadModel',
  'modelInfo',
  'tokenize',
  'complete',
  'chat',
  'cancel',
  'stats',
  'shutdown',
];

export function isMethodName(method: string): method is MethodName {
  return (METHOD_NAMES as readonly string[]).includes(method);
}

const request = <M extends MethodName>(method: M) => new RequestType<ParamsOf<M>, ResultOf<M>, ErrorData>(method);
const request0 = <M extends MethodName>(method: M) => new RequestType0<ResultOf<M>, ErrorData>(method);

/** The typed request objects, for `connection.sendRequest(Requests.x, params)`. */
export const Requests = {
  initialize: request('initialize'),
  loadModel: request('loadModel'),
  unloadModel: request0('unloadModel'),
  modelInfo: request0('modelInfo'),
  tokenize: request('tokenize'),
  complete: request('complete'),
  chat: request('chat'),
  cancel: request('cancel'),
  stats: request0('stats'),
  shutdown: request0('shutdown'),
} as const;

export const Notifications = {
  tokens: new NotificationType<TokensParams>('tokens'),
  loadProgress: new NotificationType<LoadProgressParams>('loadProgress'),
  log: new NotificationType<LogParams>('log'),
} as const;

/** The KV slot each generation method runs in. */
export const SLOT_OF = { complete: 'completion', speculative: 'speculative', chat: 'chat' } as const;
