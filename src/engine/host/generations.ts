// Bridges the native Engine's generation events to the protocol: each token becomes a
// `tokens` notification (after the stop-string matcher), the 'done' event becomes the
// request's GenerationResult. Requests are known by the client's requestId.
//
// After a cancel the engine acknowledged, or once a newer request superseded this one on its
// slot, no more tokens are streamed for it: events already queued by the worker are dropped,
// so the result's text is exactly what was streamed.
import type { DoneEvent, GenerateEvent, GenerateOptions, NativeEngine, TokenEvent } from '../native';
import type { GenerationParams, GenerationResult, StopReason, TokensParams } from '../protocol';
import { StopMatcher } from '../stop-rules';
import { HostError } from './host-error';

export interface GenerationRequest {
  slot: string;
  tokens: number[];
  params: GenerationParams;
}

interface Running {
  requestId: string;
  slot: string;
  engine: NativeEngine;
  engineId: number;
  nPrompt: number;
  matcher: StopMatcher;
  text: string;
  /** Generated tokens streamed so far. */
  streamed: number;
  /** False once cancelled, superseded or stopped: later token events are dropped. */
  forwarding: boolean;
  stopStringHit: boolean;
  startedAt: number;
  resolve: (result: GenerationResult) => void;
  reject: (error: Error) => void;
}

export class Generations {
  private readonly running = new Map<string, Running>();

  constructor(private readonly notify: (tokens: TokensParams) => void) {}

  get size(): number {
    return this.running.size;
  }

  /** Starts a generation; the promise settles with its result (or the engine's error). */
  run(engine: NativeEngine, requestId: string, request: GenerationRequest): Promise<GenerationResult> {
    if (this.running.has(requestId)) {
      throw new HostError('invalid_params', `requestId '${requestId}' is already running: use a new id for every request`);
    }
    const { params } = request;
    const options: GenerateOptions = {
      slot: request.slot,
      tokens: request.tokens,
      maxTokens: params.maxTokens,
      ...(params.sampling !== undefined ? { sampling: params.sampling } : {}),
      ...(params.ignoreEos !== undefined ? { ignoreEos: params.ignoreEos } : {}),
      ...(params.timeBudgetMs !== undefined ? { timeBudgetMs: params.timeBudgetMs } : {}),
    };
    return new Promise<GenerationResult>((resolve, reject) => {
      const gen: Running = {
        requestId,
        slot: request.slot,
        engine,
        engineId: -1,
        nPrompt: request.tokens.length,
        matcher: new StopMatcher(params.stop ?? []),
        text: '',
        streamed: 0,
        forwarding: true,
        stopStringHit: false,
        startedAt: performance.now(),
        resolve,
        reject,
      };
      // Events come through the engine's thread-safe function, never during generate().
      gen.engineId = engine.generate(options, (event) => this.onEvent(gen, event));
      // The engine supersedes the request running on this slot: stop streaming it now.
      for (const other of this.running.values()) {
        if (other.slot === gen.slot && other.engine === engine) other.forwarding = false;
      }
      this.running.set(requestId, gen);
    });
  }

  /** Cancels a running request; false when it is unknown or already finished. */
  cancel(requestId: string): boolean {
    const gen = this.running.get(requestId);
    if (!gen) return false;
    const cancelled = gen.engine.cancel(gen.engineId);
    if (cancelled) gen.forwarding = false;
    return cancelled;
  }

  /** Before the engine is disposed: cancels everything and settles each request as 'cancelled'. */
  stopAll(): void {
    for (const gen of [...this.running.values()]) {
      gen.engine.cancel(gen.engineId);
      this.running.delete(gen.requestId);
      const totalMs = performance.now() - gen.startedAt;
      gen.resolve({
        text: gen.text,
        stopReason: 'cancelled',
        nPrompt: gen.nPrompt,
        nReused: 0,
        nEvaluated: 0,
        nGenerated: gen.streamed,
        timings: { queueMs: 0, promptMs: 0, firstTokenMs: 0, totalMs, cancelLatencyMs: 0 },
      });
    }
  }

  private onEvent(gen: Running, event: GenerateEvent): void {
    if (this.running.get(gen.requestId) !== gen) return;
    switch (event.type) {
      case 'token':
        this.onToken(gen, event);
        return;
      case 'done':
        this.onDone(gen, event);
        return;
    }
  }

  private onToken(gen: Running, event: TokenEvent): void {
    if (!gen.forwarding) return;
    const { emit, stopped } = gen.matcher.push(event.text);
    gen.text += emit;
    gen.streamed = event.index + 1;
    this.notify({ requestId: gen.requestId, text: emit, ids: [event.token], index: event.index, tMs: event.tMs });
    if (stopped) {
      gen.stopStringHit = true;
      gen.forwarding = false;
      gen.engine.cancel(gen.engineId);
    }
  }

  private onDone(gen: Running, event: DoneEvent): void {
    this.running.delete(gen.requestId);
    if (event.stopReason === 'error') {
      const error = event.error ?? { kind: 'internal', message: 'the engine reported an error without details' };
      gen.reject(new HostError(error.kind, error.message));
      return;
    }
    if (gen.forwarding) {
      const last = gen.matcher.push(event.text);
      const tail = last.stopped ? last.emit : last.emit + gen.matcher.flush();
      gen.stopStringHit ||= last.stopped;
      if (tail !== '') {
        gen.text += tail;
        this.notify({ requestId: gen.requestId, text: tail, ids: [], index: gen.streamed, tMs: event.totalMs });
      }
    }
    gen.resolve({
      text: gen.text,
      stopReason: gen.stopStringHit ? 'stop' : protocolStopReason(event.stopReason),
      nPrompt: event.nPrompt,
      nReused: event.nReused,
      nEvaluated: event.nEvaluated,
      nGenerated: event.nGenerated,
      timings: {
        queueMs: event.queueMs,
        promptMs: event.promptMs,
        firstTokenMs: event.firstTokenMs,
        totalMs: event.totalMs,
        cancelLatencyMs: event.cancelLatencyMs,
      },
    });
  }
}

function protocolStopReason(reason: Exclude<DoneEvent['stopReason'], 'error'>): StopReason {
  switch (reason) {
    case 'eog':
    case 'max_tokens':
    case 'time_budget':
    case 'context_full':
    case 'cancelled':
    case 'superseded':
      return reason;
  }
}
