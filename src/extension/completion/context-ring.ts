// Extra context for completions: chunks of recently opened, edited and copied text from other
// files, sent ahead of the file being edited. Near-duplicates (line-set Jaccard similarity at or
// above the threshold) replace each other instead of piling up.
//
// Order and prefix reuse: chunks() lists chunks in the order they were added, so the ones that
// stay lead the prompt and stay in the engine's reused prefix. A chunk added again unchanged
// (same path, same text: switching back and forth between files) keeps its place and is only
// marked as recently used; a changed near-duplicate leaves its place and goes last, since the
// prompt changes from there on anyway. When the ring is full, the least recently used chunk goes.
import { isBlank, normalizeNewlines, trimLineEnd } from './text-lines';

export interface ContextChunk {
  path: string;
  text: string;
}

export interface ContextRingOptions {
  /** Chunks held at most (0: the ring holds nothing). */
  maxChunks: number;
  /** Lines of a document a chunk takes (at least 1). */
  chunkLines: number;
  /** Line-set Jaccard similarity from which a new chunk replaces a held one, in (0, 1]. */
  similarityThreshold: number;
}

interface HeldChunk {
  readonly chunk: ContextChunk;
  /** Its distinct non-blank lines (trailing spaces aside), for the similarity. */
  readonly lines: ReadonlySet<string>;
  lastUsed: number;
  /** The 0-based document line the chunk starts at. */
  readonly start: number;
}

const MIN_CHUNK_LINES = 1;
/** A threshold of 0 would make every chunk a duplicate of every other: the smallest one taken. */
const MIN_SIMILARITY_THRESHOLD = Number.EPSILON;
const MAX_SIMILARITY_THRESHOLD = 1;

function validOptions(options: ContextRingOptions): ContextRingOptions {
  const whole = (value: number, min: number): number => (Number.isNaN(value) ? min : Math.max(min, Math.floor(value)));
  const threshold = Number.isNaN(options.similarityThreshold) ? MAX_SIMILARITY_THRESHOLD : options.similarityThreshold;
  return {
    maxChunks: whole(options.maxChunks, 0),
    chunkLines: whole(options.chunkLines, MIN_CHUNK_LINES),
    similarityThreshold: Math.min(MAX_SIMILARITY_THRESHOLD, Math.max(MIN_SIMILARITY_THRESHOLD, threshold)),
  };
}

function lineSet(text: string): Set<string> {
  const lines = new Set<string>();
  for (const line of text.split('\n')) if (!isBlank(line)) lines.add(trimLineEnd(line));
  return lines;
}

/** |a ∩ b| / |a ∪ b|; two empty sets are identical. */
export function jaccardSimilarity(a: ReadonlySet<string>, b: ReadonlySet<string>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const line of a) if (b.has(line)) shared++;
  return shared / (a.size + b.size - shared);
}

/** The `count` lines of `text` centred on `aroundLine` (0-based), or its first `count` lines without one. */
export function linesAround(text: string, count: number, aroundLine?: number): string {
  return windowAround(text, count, aroundLine).text;
}

/** linesAround, with the 0-based line the window starts at. */
function windowAround(text: string, count: number, aroundLine?: number): { text: string; start: number } {
  const lines = normalizeNewlines(text).split('\n');
  if (lines.length <= count) return { text: lines.join('\n'), start: 0 };
  const wanted = aroundLine === undefined || Number.isNaN(aroundLine) ? 0 : Math.floor(aroundLine) - Math.floor(count / 2);
  const start = Math.min(Math.max(0, wanted), lines.length - count);
  return { text: lines.slice(start, start + count).join('\n'), start };
}

export class ContextRing {
  private options: ContextRingOptions;
  /** In the order chunks were added (a changed near-duplicate moves to the end). */
  private held: HeldChunk[] = [];
  private useCounter = 0;

  constructor(options: ContextRingOptions) {
    this.options = validOptions(options);
  }

  get size(): number {
    return this.held.length;
  }

  /** Adds the lines around `aroundLine` (0-based) of a document, or the start of `text` without it, as a chunk. Blank text is ignored. */
  add(path: string, text: string, aroundLine?: number): void {
    const { text: chunkText, start } = windowAround(text, this.options.chunkLines, aroundLine);
    if (isBlank(chunkText) || this.options.maxChunks === 0) return;
    const lines = lineSet(chunkText);
    const lastUsed = ++this.useCounter;
    const same = this.held.find((held) => held.chunk.path === path && held.chunk.text === chunkText);
    if (same) {
      same.lastUsed = lastUsed;
      return;
    }
    const fresh: HeldChunk = { chunk: { path, text: chunkText }, lines, lastUsed, start };
    // An edit inside a region already held updates that chunk where it stands: the chunks
    // ahead of it, and so the engine's reused prompt prefix, stay as they were.
    const overlapping = this.held.findIndex((held) => held.chunk.path === path && Math.abs(held.start - start) < this.options.chunkLines);
    if (overlapping >= 0) {
      this.held[overlapping] = fresh;
      this.held = this.held.filter((held, i) => i === overlapping || jaccardSimilarity(held.lines, lines) < this.options.similarityThreshold);
      return;
    }
    this.held = this.held.filter((held) => jaccardSimilarity(held.lines, lines) < this.options.similarityThreshold);
    this.held.push(fresh);
    this.evictToCapacity();
  }

  /** Chunks in the order they were added, without those of `excludePath`, at most `maxChars` characters of text in all (a chunk that does not fit is left out). */
  chunks(excludePath: string, maxChars: number): ContextChunk[] {
    const result: ContextChunk[] = [];
    let remaining = Number.isNaN(maxChars) ? 0 : maxChars;
    for (const { chunk } of this.held) {
      if (chunk.path === excludePath || chunk.text.length > remaining) continue;
      result.push({ ...chunk });
      remaining -= chunk.text.length;
    }
    return result;
  }

  /** New options; the ring drops its least recently used chunks when it must hold fewer. The chunk size applies to chunks added from now on. */
  resize(options: Partial<ContextRingOptions>): void {
    this.options = validOptions({ ...this.options, ...options });
    this.evictToCapacity();
  }

  clear(): void {
    this.held = [];
  }

  private evictToCapacity(): void {
    while (this.held.length > this.options.maxChunks) {
      let oldest = 0;
      this.held.forEach((held, i) => {
        if (held.lastUsed < (this.held[oldest]?.lastUsed ?? Infinity)) oldest = i;
      });
      this.held.splice(oldest, 1);
    }
  }
}
