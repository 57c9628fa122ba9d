// The last lines the engine host logged (stderr and `log` notifications), kept across
// restarts so a failed engine can say what happened just before.
export class LogTail {
  private readonly lines: string[] = [];

  constructor(private readonly capacity: number) {}

  add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  /** Oldest first. */
  snapshot(): string[] {
    return [...this.lines];
  }
}

/** Splits a text stream into lines, holding a partial last line until its end arrives. */
export class LineSplitter {
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(text: string): void {
    const parts = (this.partial + text).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) if (line.length > 0) this.onLine(line);
  }

  end(): void {
    if (this.partial.length > 0) this.onLine(this.partial);
    this.partial = '';
  }
}
