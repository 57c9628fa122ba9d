// The recent completion requests and errors the diagnostics report summarises, with no VS Code
// import: a latency histogram, percentiles, decode speed and the prefix reuse rate of the last
// requests, and the last errors with their time.
export interface RequestRecord {
  latencyMs: number;
  tokensPerSecond: number;
  /** Prompt tokens found in the KV cache, and evaluated. */
  reusedTokens: number;
  evaluatedTokens: number;
}

export interface ErrorRecord {
  at: string;
  message: string;
}

/** Upper bounds (ms) of the latency histogram's buckets; the last bucket is open. */
export const LATENCY_BUCKETS_MS: readonly number[] = [100, 200, 400, 800, 1600];

export interface RequestSummary {
  count: number;
  /** counts per bucket: < 100, < 200, < 400, < 800, < 1600, >= 1600 ms. */
  histogram: number[];
  p50Ms: number | null;
  p95Ms: number | null;
  meanTokensPerSecond: number | null;
  /** Reused / (reused + evaluated) prompt tokens, or null before any request. */
  prefixReuseRate: number | null;
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? null;
}

export class RequestLog {
  private readonly requests: RequestRecord[] = [];
  private readonly errors: ErrorRecord[] = [];

  constructor(
    private readonly maxRequests = 200,
    private readonly maxErrors = 10,
  ) {}

  addRequest(r: RequestRecord): void {
    this.requests.push(r);
    if (this.requests.length > this.maxRequests) this.requests.shift();
  }

  addError(message: string, at = new Date()): void {
    this.errors.push({ at: at.toISOString(), message });
    if (this.errors.length > this.maxErrors) this.errors.shift();
  }

  get recentErrors(): readonly ErrorRecord[] {
    return this.errors;
  }

  summary(): RequestSummary {
    const histogram = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
    let reused = 0;
    let evaluated = 0;
    const speeds: number[] = [];
    for (const r of this.requests) {
      const bucket = LATENCY_BUCKETS_MS.findIndex((b) => r.latencyMs < b);
      histogram[bucket < 0 ? LATENCY_BUCKETS_MS.length : bucket]! += 1;
      reused += r.reusedTokens;
      evaluated += r.evaluatedTokens;
      if (r.tokensPerSecond > 0) speeds.push(r.tokensPerSecond);
    }
    const latencies = this.requests.map((r) => r.latencyMs).sort((a, b) => a - b);
    return {
      count: this.requests.length,
      histogram,
      p50Ms: percentile(latencies, 50),
      p95Ms: percentile(latencies, 95),
      meanTokensPerSecond: speeds.length > 0 ? speeds.reduce((a, b) => a + b, 0) / speeds.length : null,
      prefixReuseRate: reused + evaluated > 0 ? reused / (reused + evaluated) : null,
    };
  }
}
