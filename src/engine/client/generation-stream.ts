// A generation as the caller sees it: an async iterable of token chunks (buffered, so a slow
// consumer loses nothing) plus the final result. The iterable ends when the result arrives
// and throws the request's error if it fails; `result` never causes an unhandled rejection
// when only the iterable is consumed.
import type { GenerationResult, TokensParams } from '../protocol';

export type TokenChunk = Omit<TokensParams, 'requestId'>;

export interface GenerationStream extends AsyncIterable<TokenChunk> {
  /** The id the client chose for this request (the host's `tokens` notifications carry it). */
  readonly requestId: string;
  /**
   * The result. An aborted signal resolves it with stopReason 'cancelled' (it does not reject);
   * failures reject with an EngineError (engine_crashed, no_model, prompt_too_long, ...).
   */
  readonly result: Promise<GenerationResult>;
}

/** The result of a request cancelled before it reached the host. */
export function cancelledBeforeStart(): GenerationResult {
  return {
    text: '',
    stopReason: 'cancelled',
    nPrompt: 0,
    nReused: 0,
    nEvaluated: 0,
    nGenerated: 0,
    timings: { queueMs: 0, promptMs: 0, firstTokenMs: 0, totalMs: 0, cancelLatencyMs: 0 },
  };
}

type Ending = { ok: true } | { ok: false; error: unknown };

export class GenerationStreamController implements GenerationStream {
  readonly result: Promise<GenerationResult>;
  private resolveResult!: (result: GenerationResult) => void;
  private rejectResult!: (error: unknown) => void;
  private readonly queue: TokenChunk[] = [];
  private head = 0;
  private ending: Ending | undefined;
  private waiters: Array<() => void> = [];

  constructor(readonly requestId: string) {
    this.result = new Promise<GenerationResult>((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // Marks the promise handled; callers awaiting it still see the rejection.
    this.result.catch(() => undefined);
  }

  push(chunk: TokenChunk): void {
    if (this.ending) return;
    this.queue.push(chunk);
    this.wake();
  }

  finish(result: GenerationResult): void {
    if (this.ending) return;
    this.ending = { ok: true };
    this.resolveResult(result);
    this.wake();
  }

  fail(error: unknown): void {
    if (this.ending) return;
    this.ending = { ok: false, error };
    this.rejectResult(error);
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<TokenChunk> {
    for (;;) {
      const chunk = this.next();
      if (chunk !== undefined) {
        yield chunk;
        continue;
      }
      if (this.ending) {
        if (!this.ending.ok) throw this.ending.error;
        return;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private next(): TokenChunk | undefined {
    if (this.head >= this.queue.length) return undefined;
    const chunk = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return chunk;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
