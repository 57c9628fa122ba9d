// Recent suggestions by context key (see contextKey), least recently used dropped first. A Map
// keeps insertion order: a hit is moved to the end, the first entry is the least recently used.

export class SuggestionCache {
  private readonly entries = new Map<string, string>();
  private capacity: number;

  /** capacity: entries held at most (0 or less: the cache holds nothing). */
  constructor(capacity: number) {
    this.capacity = SuggestionCache.validCapacity(capacity);
  }

  get size(): number {
    return this.entries.size;
  }

  /** The text stored under `key` (it becomes the most recently used), or undefined. */
  get(key: string): string | undefined {
    const text = this.entries.get(key);
    if (text === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, text);
    return text;
  }

  /** Stores `text` under `key` as the most recently used, dropping the least recently used beyond the capacity. */
  set(key: string, text: string): void {
    this.entries.delete(key);
    this.entries.set(key, text);
    this.evictToCapacity();
  }

  resize(capacity: number): void {
    this.capacity = SuggestionCache.validCapacity(capacity);
    this.evictToCapacity();
  }

  clear(): void {
    this.entries.clear();
  }

  private evictToCapacity(): void {
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.capacity) return;
      this.entries.delete(key);
    }
  }

  private static validCapacity(capacity: number): number {
    return Number.isNaN(capacity) ? 0 : Math.max(0, Math.floor(capacity));
  }
}
