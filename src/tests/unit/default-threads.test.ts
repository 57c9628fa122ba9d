// The engine's default thread count for a machine's logical CPU count.
import { describe, expect, it } from 'vitest';

import { defaultThreadsFor } from '../../engine/host/dispatch';

describe('default engine threads', () => {
  it('uses every logical CPU up to 4, then half of them within 4..8', () => {
    const cases: Array<[number, number]> = [
      [1, 1],
      [2, 2],
      [3, 3],
      [4, 4],
      [6, 4],
      [8, 4],
      [12, 6],
      [16, 8],
      [64, 8],
    ];
    for (const [logical, threads] of cases) expect(defaultThreadsFor(logical), `${logical} CPUs`).toBe(threads);
  });
});
