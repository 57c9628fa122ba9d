// AdaptiveDebounce: no wait while the engine is idle, a wait growing with the typing rate while busy.
import { describe, expect, it } from 'vitest';

import { AdaptiveDebounce, RATE_WINDOW_MS, SATURATING_KEYSTROKES_PER_SECOND } from '../../../extension/completion/debounce';

const MAX_MS = 120;

function clock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000_000;
  return { now: () => time, advance: (ms) => (time += ms) };
}

/** `count` keystrokes `intervalMs` apart. */
function typeKeys(debounce: AdaptiveDebounce, advance: (ms: number) => void, count: number, intervalMs: number): void {
  for (let i = 0; i < count; i++) {
    if (i > 0) advance(intervalMs);
    debounce.keystroke();
  }
}

describe('AdaptiveDebounce', () => {
  it('never waits while the engine is idle, however fast the typing', () => {
    const { now, advance } = clock();
    const debounce = new AdaptiveDebounce({ maxMs: MAX_MS, now });
    typeKeys(debounce, advance, 20, 30);
    expect(debounce.delayMs(false)).toBe(0);
  });

  it('waits maxMs while busy at the saturating rate and above', () => {
    const { now, advance } = clock();
    const debounce = new AdaptiveDebounce({ maxMs: MAX_MS, now });
    typeKeys(debounce, advance, SATURATING_KEYSTROKES_PER_SECOND, RATE_WINDOW_MS / SATURATING_KEYSTROKES_PER_SECOND);
    expect(debounce.delayMs(true)).toBe(MAX_MS);
    typeKeys(debounce, advance, 10, 20);
    expect(debounce.delayMs(true)).toBe(MAX_MS);
  });

  it('waits in proportion to slower typing while busy', () => {
    const { now, advance } = clock();
    const debounce = new AdaptiveDebounce({ maxMs: MAX_MS, now });
    typeKeys(debounce, advance, 2, 400);
    expect(debounce.delayMs(true)).toBe(Math.round((MAX_MS * 2) / SATURATING_KEYSTROKES_PER_SECOND));
  });

  it('grows with the rate', () => {
    const delays = [1, 2, 4, 6].map((count) => {
      const { now, advance } = clock();
      const debounce = new AdaptiveDebounce({ maxMs: MAX_MS, now });
      typeKeys(debounce, advance, count, 100);
      return debounce.delayMs(true);
    });
    expect(delays).toEqual([...delays].sort((a, b) => a - b));
    expect(new Set(delays).size).toBe(delays.length);
  });

  it('forgets keystrokes older than the rate window', () => {
    const { now, advance } = clock();
    const debounce = new AdaptiveDebounce({ maxMs: MAX_MS, now });
    typeKeys(debounce, advance, 10, 50);
    advance(RATE_WINDOW_MS + 1);
    expect(debounce.delayMs(true)).toBe(0);
    debounce.keystroke();
    expect(debounce.delayMs(true)).toBe(Math.round(MAX_MS / SATURATING_KEYSTROKES_PER_SECOND));
  });

  it('never waits with a maxMs of zero, a negative one or NaN', () => {
    for (const maxMs of [0, -50, Number.NaN]) {
      const { now, advance } = clock();
      const debounce = new AdaptiveDebounce({ maxMs, now });
      typeKeys(debounce, advance, 10, 10);
      expect(debounce.delayMs(true)).toBe(0);
    }
  });

  it('uses the real clock by default', () => {
    const debounce = new AdaptiveDebounce({ maxMs: MAX_MS });
    debounce.keystroke();
    expect(debounce.delayMs(true)).toBe(Math.round(MAX_MS / SATURATING_KEYSTROKES_PER_SECOND));
  });
});
