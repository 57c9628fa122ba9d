// The completion session's engine: the engine host through EngineClient. No VS Code here, so
// the typing-replay benchmark uses exactly what the extension uses.
import type { EngineClient } from '../../engine/client';
import type { CompletionEngine, EngineCompletion, EngineCompletionRequest } from './completion-session';

export class ClientCompletionEngine implements CompletionEngine {
  private running = 0;

  constructor(private readonly client: EngineClient) {}

  get busy(): boolean {
    return this.running > 0;
  }

  async complete(request: EngineCompletionRequest, signal: AbortSignal): Promise<EngineCompletion> {
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
        { signal },
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
      this.running--;
    }
  }
}
