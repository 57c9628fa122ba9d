// How the extension sets up inline completion from its settings: the session options and
// the context ring's shape. Shared by the VS Code wiring and the typing-replay benchmark, so
// the benchmark measures exactly what users run.
import type { ContextRingOptions } from './context-ring';
import type { SessionOptions } from './completion-session';
import type { AlloySettings } from '../settings-schema';

/** Suggestions remembered per session (by context). */
export const SUGGESTION_CACHE_SIZE = 256;

export const RING_OPTIONS: ContextRingOptions = { maxChunks: 16, chunkLines: 32, similarityThreshold: 0.9 };

export function sessionOptions(settings: AlloySettings): SessionOptions {
  const c = settings.completions;
  return {
    maxTokens: c.maxTokens,
    maxLines: c.maxLines,
    timeBudgetMs: c.timeBudgetMs,
    debounceMaxMs: c.debounceMaxMs,
    cacheSize: SUGGESTION_CACHE_SIZE,
    speculative: c.speculative,
    extraContextChars: c.extraContextChars,
  };
}
