// `Alloy: Run Benchmark` without VS Code: prompt processing and decode speed of the loaded model
// through the real engine host, the way completions use it. Each prompt run evaluates fresh
// text (a different first line each run, so nothing is reused from the KV cache); each decode
// run generates a fixed number of tokens past end-of-text. The median of the runs is reported.
import type { EngineClient } from '../engine/client';

export interface BenchmarkOptions {
  /** Prompt tokens per prompt run (capped to fit the model's context). */
  promptTokens: number;
  /** Tokens generated per decode run. */
  generateTokens: number;
  runs: number;
  signal?: AbortSignal;
  /** 0..1 after each run. */
  onProgress?: (fraction: number, what: string) => void;
}

export interface BenchmarkResult {
  promptTokens: number;
  generateTokens: number;
  /** Median over the runs. */
  promptTokensPerSecond: number;
  generateTokensPerSecond: number;
  runs: { promptTokensPerSecond: number[]; generateTokensPerSecond: number[] };
}

const SNIPPET = 'def add(a, b):\n    return a + b\n\nclass Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n';

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** A prompt of at least `tokens` tokens whose first line is unique to `run`. */
async function promptText(client: EngineClient, run: number, tokens: number): Promise<string> {
  let text = `# benchmark run ${run} ${Date.now()}\n`;
  for (;;) {
    const n = (await client.tokenize({ text, addSpecial: false })).tokens.length;
    if (n >= tokens) return text;
    text += SNIPPET.repeat(Math.max(1, Math.ceil((tokens - n) / 40)));
  }
}

export async function runBenchmark(client: EngineClient, contextSize: number, o: BenchmarkOptions): Promise<BenchmarkResult> {
  const promptTokens = Math.max(8, Math.min(o.promptTokens, contextSize - o.generateTokens - 16));
  const pp: number[] = [];
  const tg: number[] = [];
  const total = 2 * o.runs;
  for (let run = 0; run < o.runs; run++) {
    if (o.signal?.aborted) throw new Error('the benchmark was cancelled');
    const prompt = await client.complete(
      { prefix: await promptText(client, run, promptTokens), suffix: '', maxTokens: 1, ignoreEos: true },
      o.signal ? { signal: o.signal } : {},
    ).result;
    if (prompt.timings.promptMs > 0) pp.push((prompt.nEvaluated * 1000) / prompt.timings.promptMs);
    o.onProgress?.((2 * run + 1) / total, `prompt run ${run + 1} of ${o.runs}`);
    const decode = await client.complete(
      { prefix: `# decode run ${run}\n${SNIPPET}`, suffix: '', maxTokens: o.generateTokens, ignoreEos: true },
      o.signal ? { signal: o.signal } : {},
    ).result;
    const generateMs = decode.timings.totalMs - decode.timings.firstTokenMs;
    if (decode.nGenerated > 1 && generateMs > 0) tg.push(((decode.nGenerated - 1) * 1000) / generateMs);
    o.onProgress?.((2 * run + 2) / total, `decode run ${run + 1} of ${o.runs}`);
  }
  return {
    promptTokens,
    generateTokens: o.generateTokens,
    promptTokensPerSecond: median(pp),
    generateTokensPerSecond: median(tg),
    runs: { promptTokensPerSecond: pp, generateTokensPerSecond: tg },
  };
}
