// The diagnostics report: the request log's summary and the Markdown it reads as.
import { describe, expect, it } from 'vitest';

import { formatDiagnostics, type Diagnostics } from '../../../extension/diagnostics';
import { RequestLog } from '../../../extension/request-log';

describe('request log', () => {
  it('summarises latency (histogram, percentiles), decode speed and prefix reuse of the last requests', () => {
    const log = new RequestLog(3);
    for (const [latencyMs, tps] of [[50, 0], [150, 40], [900, 20], [2000, 30]] as const) {
      log.addRequest({ latencyMs, tokensPerSecond: tps, reusedTokens: 30, evaluatedTokens: 10 });
    }
    const s = log.summary();
    expect(s.count).toBe(3); // the oldest dropped
    expect(s.histogram).toEqual([0, 1, 0, 0, 1, 1]);
    expect(s.p50Ms).toBe(900);
    expect(s.meanTokensPerSecond).toBe(30);
    expect(s.prefixReuseRate).toBe(0.75);
    expect(new RequestLog().summary()).toMatchObject({ count: 0, p50Ms: null, prefixReuseRate: null });
  });

  it('keeps the last errors', () => {
    const log = new RequestLog(10, 2);
    for (const m of ['a', 'b', 'c']) log.addError(m, new Date(0));
    expect(log.recentErrors.map((e) => e.message)).toEqual(['b', 'c']);
  });
});

describe('diagnostics report', () => {
  it('reads as Markdown with the engine, backend, model, memory, requests and errors', () => {
    const log = new RequestLog();
    log.addRequest({ latencyMs: 120, tokensPerSecond: 50, reusedTokens: 90, evaluatedTokens: 10 });
    log.addError('boom', new Date(Date.UTC(2026, 10, 30)));
    const d: Diagnostics = {
      extensionVersion: '0.1.0',
      platform: 'linux',
      arch: 'x64',
      engine: { ok: true, protocolVersion: 3, engineVersion: '0.1.0', cpuFeatures: ['avx2'], pid: 42 },
      model: { path: '/m/q.gguf', arch: 'qwen2', contextSize: 4096, threads: 4, tensorTypes: { Q8_0: 168, F32: 121 }, fim: true, chatTemplate: false, fileSizeBytes: 531 * 2 ** 20, loadMs: 120.4, demo: false },
      backend: { preference: 'auto', kind: 'cpu', device: 'avx2', unifiedMemory: false, dispatchesPerToken: 0, fallbackReason: 'no Metal here' },
      memory: { engineRssBytes: 600 * 2 ** 20, kvBytesInUse: 48 * 2 ** 20, kvBudgetBytes: 144 * 2 ** 20 },
      requests: log.summary(),
      recentErrors: log.recentErrors,
    };
    const text = formatDiagnostics(d);
    expect(text).toContain('- backend: CPU (avx2 kernels); Metal not used: no Metal here');
    expect(text).toContain('- tensor types: Q8_0 ×168, F32 ×121');
    expect(text).toContain('- engine process 600 MiB resident; KV cache 48 MiB in use of a 144 MiB budget');
    expect(text).toContain('- latency p50 120 ms, p95 120 ms; <100 ms: 0 · <200 ms: 1');
    expect(text).toContain('prefix reuse 90% of prompt tokens');
    expect(text).toContain('- 2026-11-30T00:00:00.000Z boom');
  });
});
