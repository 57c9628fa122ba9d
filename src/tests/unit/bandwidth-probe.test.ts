// The addon's memory-bandwidth probe (the benchmark's bound on decode speed): finite positive
// GB/s for every pass, best >= median, the options echoed, and bad options refused.
import { describe, expect, it } from 'vitest';

import { isEngineError, loadAddon } from '../../engine/native';

describe('addon measureReadBandwidth', () => {
  it('returns finite positive GB/s figures for each pass', () => {
    const r = loadAddon().measureReadBandwidth({ mib: 64, threads: 2, repeats: 3 });
    expect(r.mib).toBe(64);
    expect(r.threads).toBe(2);
    expect(r.repeats).toBe(3);
    expect(r.samples_gbs).toHaveLength(3);
    for (const gbs of [r.best_gbs, r.median_gbs, ...r.samples_gbs]) {
      expect(Number.isFinite(gbs)).toBe(true);
      expect(gbs).toBeGreaterThan(0);
    }
    expect(r.best_gbs).toBe(Math.max(...r.samples_gbs));
    expect(r.best_gbs).toBeGreaterThanOrEqual(r.median_gbs);
  });

  it('works with one thread and an odd-sized buffer', () => {
    const r = loadAddon().measureReadBandwidth({ mib: 3, threads: 1, repeats: 1 });
    expect(r.samples_gbs).toHaveLength(1);
    expect(r.best_gbs).toBeGreaterThan(0);
  });

  it('refuses bad options with a usage error', () => {
    const addon = loadAddon();
    for (const bad of [{ mib: 0 }, { threads: 0 }, { repeats: 1.5 }, { mib: 'x' }, { sizeMib: 4 }]) {
      let error: unknown;
      try {
        addon.measureReadBandwidth(bad as never);
      } catch (e) {
        error = e;
      }
      expect(isEngineError(error) && error.kind).toBe('invalid_argument');
    }
  });
});
