// `Alloy: Run Benchmark`'s measurement against the real engine host and a tiny model.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EngineClient } from '../../engine/client';
import { runBenchmark } from '../../extension/benchmark';
import { FIM_MODEL, TEST_THREADS } from '../helpers/engine-models';
import { engineHostPath } from '../helpers/paths';

describe('benchmark', () => {
  const client = new EngineClient({ hostScript: engineHostPath, clientName: 'benchmark.test' });
  let contextSize = 0;
  beforeAll(async () => {
    contextSize = (await client.loadModel({ path: FIM_MODEL, contextSize: 256, threads: TEST_THREADS })).contextSize;
  });
  afterAll(() => client.dispose());

  it('measures prompt and decode speed over fresh prompts, with progress', async () => {
    const progress: number[] = [];
    const r = await runBenchmark(client, contextSize, { promptTokens: 1000, generateTokens: 16, runs: 2, onProgress: (f) => progress.push(f) });
    expect(r.promptTokens).toBe(256 - 16 - 16); // capped to fit the context
    expect(r.runs.promptTokensPerSecond).toHaveLength(2);
    expect(r.runs.generateTokensPerSecond).toHaveLength(2);
    expect(r.promptTokensPerSecond).toBeGreaterThan(0);
    expect(r.generateTokensPerSecond).toBeGreaterThan(0);
    expect(progress).toEqual([0.25, 0.5, 0.75, 1]);
  });
});
