// The inline-completion logic between the editor and the engine, free of VS Code so unit
// tests and the typing-replay benchmark drive it directly. For each keystroke's context it
// answers, cheapest first: the rest of the suggestion the user is typing through
// (typed-ahead), a cached suggestion for this exact context, the speculative request made for
// it, and only then a new engine request - after a short debounce when the engine is busy.
// The caller aborts a call's signal on the next keystroke; an aborted engine request is
// cancelled in the engine (the host supersedes the completion slot anyway).
import { AdaptiveDebounce } from './debounce';
import type { ContextChunk, ContextRing } from './context-ring';
import { contextKey, type CursorContext } from './cursor-context';
import { shapeSuggestion } from './quality-rules';
import { SuggestionCache } from './suggestion-cache';
import { remainingSuggestion, type ShownSuggestion } from './typed-ahead';

export interface EngineCompletionRequest {
  prefix: string;
  suffix: string;
  chunks: ContextChunk[];
  filePath: string;
  maxTokens: number;
  timeBudgetMs: number;
  /** Runs in the engine's speculative slot: never supersedes the live completion. */
  speculative: boolean;
}

export interface EngineCompletion {
  text: string;
  nEvaluated: number;
  nReused: number;
  nGenerated: number;
  stopReason: string;
  /** Engine time from arrival to the end of generation, and to the first token. */
  totalMs: number;
  firstTokenMs: number;
}

export interface CompletionEngine {
  /** Resolves with stopReason 'cancelled' when the signal aborts; rejects on engine failure. */
  complete(request: EngineCompletionRequest, signal: AbortSignal): Promise<EngineCompletion>;
  /** True while any request is running in the engine. */
  readonly busy: boolean;
}

export interface SessionOptions {
  maxTokens: number;
  maxLines: number;
  /** Generation stops after this long and keeps what it has. */
  timeBudgetMs: number;
  /** Upper bound of the debounce applied while the engine is busy (0: never wait). */
  debounceMaxMs: number;
  cacheSize: number;
  /** After a suggestion is shown, ask for the one that would follow it. */
  speculative: boolean;
  /** Characters of extra context (other files) sent ahead of the file. */
  extraContextChars: number;
}

export type SuggestionSource = 'engine' | 'cache' | 'typed-ahead' | 'speculative';

export interface Suggestion {
  text: string;
  source: SuggestionSource;
}

export interface SessionStats {
  /** suggest() calls (one per keystroke or trigger). */
  requests: number;
  /** Requests sent to the engine, speculative ones included. */
  engineRequests: number;
  speculativeRequests: number;
  cacheHits: number;
  typedAheadHits: number;
  speculativeHits: number;
  /** Engine requests that ended cancelled (a newer keystroke came first). */
  cancelled: number;
  /** Prompt tokens the engine evaluated (after prefix reuse), over all engine requests. */
  tokensEvaluated: number;
}

/** What the last engine answer cost, for the status bar and the diagnostics. */
export interface EngineFigures {
  latencyMs: number;
  tokensPerSecond: number;
  /** Prompt tokens found in the KV cache, and evaluated. */
  reusedTokens: number;
  evaluatedTokens: number;
}

interface Speculation {
  key: string;
  result: Promise<string | null>;
  controller: AbortController;
}

const CANCELLED_REASONS: ReadonlySet<string> = new Set(['cancelled', 'superseded']);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** `promise`, or undefined as soon as the signal aborts. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The context after accepting `text` at the cursor. */
function contextAfter(ctx: CursorContext, text: string): CursorContext {
  const prefix = ctx.prefix + text;
  const lastNewline = prefix.lastIndexOf('\n');
  return { ...ctx, prefix, linePrefix: lastNewline >= 0 ? prefix.slice(lastNewline + 1) : ctx.linePrefix + text };
}

export class CompletionSession {
  private readonly cache: SuggestionCache;
  private debounce: AdaptiveDebounce;
  private shownSuggestion: ShownSuggestion | undefined;
  private speculation: Speculation | undefined;
  private readonly counters: SessionStats = {
    requests: 0,
    engineRequests: 0,
    speculativeRequests: 0,
    cacheHits: 0,
    typedAheadHits: 0,
    speculativeHits: 0,
    cancelled: 0,
    tokensEvaluated: 0,
  };

  constructor(
    private readonly engine: CompletionEngine,
    private options: SessionOptions,
    private readonly ring?: ContextRing,
    /** Called after every engine answer that was not cancelled. */
    private readonly onEngineFigures?: (figures: EngineFigures) => void,
  ) {
    this.cache = new SuggestionCache(options.cacheSize);
    this.debounce = new AdaptiveDebounce({ maxMs: options.debounceMaxMs });
  }

  get stats(): Readonly<SessionStats> {
    return { ...this.counters };
  }

  /** New settings take effect from the next keystroke; cached suggestions made under the old ones are dropped. */
  updateOptions(options: SessionOptions): void {
    this.options = options;
    this.cache.resize(options.cacheSize);
    this.cache.clear();
    this.debounce = new AdaptiveDebounce({ maxMs: options.debounceMaxMs });
    this.forget();
  }

  /** Forgets what was shown and stops speculating (document closed, suggestion rejected, model changed). */
  forget(): void {
    this.shownSuggestion = undefined;
    this.speculation?.controller.abort();
    this.speculation = undefined;
  }

  /** The suggestion for this context, or null (nothing worth showing, or the signal aborted). */
  async suggest(ctx: CursorContext, signal: AbortSignal): Promise<Suggestion | null> {
    this.counters.requests++;
    this.debounce.keystroke();
    const typedAhead = this.shownSuggestion ? remainingSuggestion(this.shownSuggestion, ctx) : null;
    if (typedAhead !== null) {
      this.counters.typedAheadHits++;
      return { text: typedAhead, source: 'typed-ahead' };
    }
    const key = contextKey(ctx);
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      this.counters.cacheHits++;
      return cached === '' ? null : { text: cached, source: 'cache' };
    }
    const speculated = await this.fromSpeculation(key, signal);
    if (speculated !== undefined) return speculated;
    const delay = this.debounce.delayMs(this.engine.busy);
    if (delay > 0) await sleep(delay, signal);
    if (signal.aborted) return null;
    const text = await this.request(ctx, key, false, signal);
    return text === null || signal.aborted ? null : { text, source: 'engine' };
  }

  /** The suggestion was displayed: remember it for typed-ahead and guess what follows it. */
  shown(ctx: CursorContext, suggestion: Suggestion): void {
    this.shownSuggestion = { prefix: ctx.prefix, suffix: ctx.suffix, filePath: ctx.filePath, text: suggestion.text };
    if (!this.options.speculative) return;
    const next = contextAfter(ctx, suggestion.text);
    const key = contextKey(next);
    if (this.cache.get(key) !== undefined || this.speculation?.key === key) return;
    this.speculation?.controller.abort();
    const controller = new AbortController();
    this.counters.speculativeRequests++;
    const result = this.request(next, key, true, controller.signal).catch(() => null);
    this.speculation = { key, result, controller };
  }

  private async fromSpeculation(key: string, signal: AbortSignal): Promise<Suggestion | null | undefined> {
    const speculation = this.speculation;
    if (speculation?.key !== key) return undefined;
    const text = await unlessAborted(speculation.result, signal);
    if (text === undefined) return null;
    if (this.speculation === speculation) this.speculation = undefined;
    if (text === null) return undefined;
    this.counters.speculativeHits++;
    return { text, source: 'speculative' };
  }

  /** One engine request; the shaped text (cached under `key`), or null when cancelled or empty. */
  private async request(ctx: CursorContext, key: string, speculative: boolean, signal: AbortSignal): Promise<string | null> {
    this.counters.engineRequests++;
    const started = performance.now();
    const result = await this.engine.complete(
      {
        prefix: ctx.prefix,
        suffix: ctx.suffix,
        chunks: this.ring?.chunks(ctx.filePath, this.options.extraContextChars) ?? [],
        filePath: ctx.filePath,
        maxTokens: this.options.maxTokens,
        timeBudgetMs: this.options.timeBudgetMs,
        speculative,
      },
      signal,
    );
    this.counters.tokensEvaluated += result.nEvaluated;
    if (CANCELLED_REASONS.has(result.stopReason)) {
      this.counters.cancelled++;
      return null;
    }
    const text = shapeSuggestion(result.text, ctx, { maxLines: this.options.maxLines });
    this.cache.set(key, text ?? '');
    if (!speculative) {
      const generateMs = result.totalMs - result.firstTokenMs;
      this.onEngineFigures?.({
        latencyMs: performance.now() - started,
        tokensPerSecond: result.nGenerated > 1 && generateMs > 0 ? ((result.nGenerated - 1) * 1000) / generateMs : 0,
        reusedTokens: result.nReused,
        evaluatedTokens: result.nEvaluated,
      });
    }
    return text;
  }
}
