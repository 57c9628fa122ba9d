// The JS Sampler class of the addon: greedy, seeded sampling, option errors.
import { describe, expect, it } from 'vitest';

import { loadAddon } from '../../engine/native';

const logits = new Float32Array([0.1, 2.5, -1, 2.5, 0.7, 1.9]);

describe('Sampler (addon)', () => {
  it('temp 0 is argmax, ties to the lowest id', () => {
    const sampler = new (loadAddon().Sampler)({ temp: 0 });
    expect(sampler.sample(logits, [])).toBe(1);
  });

  it('the same seed gives the same draws, another seed other draws', () => {
    const draw = (seed: number) => {
      const s = new (loadAddon().Sampler)({ temp: 1.5, topK: 0, topP: 1, minP: 0, seed });
      return Array.from({ length: 64 }, () => s.sample(logits, []));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('the repetition penalty steers greedy away from recent tokens', () => {
    const sampler = new (loadAddon().Sampler)({ temp: 0, repeatPenalty: 2 });
    expect(sampler.sample(logits, [1, 3])).toBe(5);
  });

  it('bad options are invalid_argument errors', () => {
    expect(() => new (loadAddon().Sampler)({ topP: -1 })).toThrow(expect.objectContaining({ kind: 'invalid_argument' }));
    expect(() => new (loadAddon().Sampler)({ temp: Number.NaN })).toThrow(expect.objectContaining({ kind: 'invalid_argument' }));
  });
});
