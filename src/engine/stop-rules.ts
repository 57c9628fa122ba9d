// Text stop sequences over a token stream: generated text arrives in pieces, a stop string may
// be split across them, and nothing of a stop string may reach the user. The matcher emits text
// as soon as it can no longer be the start of a stop string and holds back only such a tail.

export class StopMatcher {
  private readonly stops: readonly string[];
  private readonly longestStop: number;
  private held = '';
  private stopped = false;

  /** Empty stop strings are ignored. */
  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
    this.longestStop = this.stops.reduce((max, s) => Math.max(max, s.length), 0);
  }

  /**
   * Feeds generated text; returns the text safe to emit now (holding back a tail that may start
   * a stop string) and whether a stop string was completed (the stop string and anything after
   * it are dropped). Once stopped, further text is dropped.
   */
  push(text: string): { emit: string; stopped: boolean } {
    if (this.stopped) return { emit: '', stopped: true };
    const buffer = this.held + text;
    // The held tail is the earliest place a stop can begin (everything emitted before it was
    // checked not to start one), so the earliest match in the buffer is the first in the stream.
    const stopAt = this.earliestStop(buffer);
    if (stopAt >= 0) {
      this.stopped = true;
      this.held = '';
      return { emit: buffer.slice(0, stopAt), stopped: true };
    }
    const keep = this.partialStopLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { emit: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** End of generation without a stop: the held-back tail. */
  flush(): string {
    const tail = this.held;
    this.held = '';
    return tail;
  }

  private earliestStop(buffer: string): number {
    let earliest = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (earliest < 0 || at < earliest)) earliest = at;
    }
    return earliest;
  }

  /** Length of the longest tail of `buffer` that is a proper prefix of some stop string (0 if none). */
  private partialStopLength(buffer: string): number {
    for (let n = Math.min(this.longestStop - 1, buffer.length); n > 0; n--) {
      const tail = buffer.slice(buffer.length - n);
      if (this.stops.some((stop) => stop.length > n && stop.startsWith(tail))) return n;
    }
    return 0;
  }
}
