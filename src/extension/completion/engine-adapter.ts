// The completion session's engine: the engine host through EngineClient. No VS Code here, so
// the typing-replay benchmark uses exactly what the extension uses.
//
// An aborted completion is not cancelled in the engine at once: the next keystroke's request
// usually follows within the debounce, and the host then supersedes the old request - which
// lets a prompt chunk shared with the new prompt finish and stay in the KV cache, instead of
// throwing that work away. Only when no request follows within SUPERSEDE_GRACE_MS is the old
// one cancelled. Speculative requests are cancelled at once.
import type { EngineClient } from '../../engine/client';
import type { CompletionEngine, EngineCompletion, EngineCompletionRequest } from './completion-session';

/** Longer than the default debounce (150 ms), so the next keystroke's request can supersede. */
export const SUPERSEDE_GRACE_MS = 250;

export class ClientCompletionEngine implements CompletionEngine {
  private running = 0;
  /** The hard cancel waiting for the grace period of the last aborted completion. */
  private pendingCancel: NodeJS.Timeout | undefined;

  constructor(private readonly client: EngineClient) {}

  get busy(): boolean {
    return this.running > 0;
  }

  async complete(request: EngineCompletionRequest, signal: AbortSignal): Promise<EngineCompletion> {
    if (!request.speculative && this.pendingCancel) {
      clearTimeout(this.pendingCancel);  // this request supersedes the aborted one in the host
      this.pendingCancel = undefined;
    }
    const engineSignal = new AbortController();
    const onAbort = (): void => {
      if (request.speculative) {
        engineSignal.abort();
        return;
      }
      const timer = setTimeout(() => {
        if (this.pendingCancel === timer) this.pendingCancel = undefined;
        engineSignal.abort();
      }, SUPERSEDE_GRACE_MS);
      this.pendingCancel = timer;
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    this.running++;
    try {
      const result = await this.client.complete(
        {
          prefix: request.prefix,
          suffix: request.suffix,
          chunks: request.chunks,
          filePath: request.filePath,
          maxTokens: request.maxTokens,
          timeBudgetMs: request.timeBudgetMs,
          speculative: request.speculative,
        },
        { signal: engineSignal.signal },
      ).result;
      return {
        text: result.text,
        nEvaluated: result.nEvaluated,
        nReused: result.nReused,
        nGenerated: result.nGenerated,
        stopReason: result.stopReason,
        totalMs: result.timings.totalMs,
        firstTokenMs: result.timings.firstTokenMs,
      };
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.running--;
    }
  }
}
