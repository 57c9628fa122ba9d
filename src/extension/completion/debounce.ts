// Adaptive debounce for completion requests. While the engine is idle a request starts at once
// (0 ms): the fastest first suggestion. While it is busy, a new request would wait behind (or
// supersede) work anyway, and during a burst of typing the next keystroke is likely to cancel
// it: the request then waits a little, the longer the faster the user has been typing -
// maxMs * min(1, recent keystrokes per second / SATURATING_KEYSTROKES_PER_SECOND).

/** Keystrokes count towards the rate for this long. */
export const RATE_WINDOW_MS = 1000;
/** At this typing rate (and above) the wait is maxMs: about the rate of fast bursts of code typing. */
export const SATURATING_KEYSTROKES_PER_SECOND = 8;

export interface AdaptiveDebounceOptions {
  /** The longest wait (0 or less: never wait). */
  maxMs: number;
  /** Milliseconds from a fixed origin; performance.now by default. */
  now?: () => number;
}

export class AdaptiveDebounce {
  private readonly maxMs: number;
  private readonly now: () => number;
  /** Times of the keystrokes within the last RATE_WINDOW_MS, oldest first. */
  private recent: number[] = [];

  constructor(options: AdaptiveDebounceOptions) {
    this.maxMs = Number.isNaN(options.maxMs) ? 0 : Math.max(0, options.maxMs);
    this.now = options.now ?? (() => performance.now());
  }

  keystroke(): void {
    const now = this.now();
    this.forgetBefore(now - RATE_WINDOW_MS);
    this.recent.push(now);
  }

  /** The wait before starting a request: 0 while the engine is idle, else growing with the recent keystroke rate up to maxMs. */
  delayMs(engineBusy: boolean): number {
    if (!engineBusy || this.maxMs === 0) return 0;
    this.forgetBefore(this.now() - RATE_WINDOW_MS);
    const keystrokesPerSecond = (this.recent.length * 1000) / RATE_WINDOW_MS;
    return Math.round(this.maxMs * Math.min(1, keystrokesPerSecond / SATURATING_KEYSTROKES_PER_SECOND));
  }

  private forgetBefore(time: number): void {
    const firstKept = this.recent.findIndex((at) => at > time);
    this.recent = firstKept < 0 ? [] : this.recent.slice(firstKept);
  }
}
