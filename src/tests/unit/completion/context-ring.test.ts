// ContextRing: chunk extraction, near-duplicate replacement, eviction, order, exclusion, budget.
import { describe, expect, it } from 'vitest';

import { ContextRing, jaccardSimilarity, linesAround } from '../../../extension/completion/context-ring';

const OPTIONS = { maxChunks: 3, chunkLines: 4, similarityThreshold: 0.9 };

const UTIL_TS = ['export function clamp(v: number, lo: number, hi: number): number {', '  return Math.min(hi, Math.max(lo, v));', '}', ''].join('\n');
const MODELS_PY = ['class User:', '    def __init__(self, name):', '        self.name = name', ''].join('\n');
const MAIN_GO = ['package main', '', 'func main() {', '\trun()', '}'].join('\n');
const LIB_RS = ['pub fn add(a: i32, b: i32) -> i32 {', '    a + b', '}'].join('\n');

function paths(ring: ContextRing, exclude = 'none', maxChars = Infinity): string[] {
  return ring.chunks(exclude, maxChars).map((chunk) => chunk.path);
}

describe('linesAround', () => {
  const numbered = Array.from({ length: 10 }, (_, i) => `line ${i}`).join('\n');

  it('centres the chunk on the line and shifts it inside the document at the edges', () => {
    expect(linesAround(numbered, 3, 5)).toBe('line 4\nline 5\nline 6');
    expect(linesAround(numbered, 3, 0)).toBe('line 0\nline 1\nline 2');
    expect(linesAround(numbered, 3, 9)).toBe('line 7\nline 8\nline 9');
    expect(linesAround(numbered, 4, 99)).toBe('line 6\nline 7\nline 8\nline 9');
  });

  it('takes the first lines without a line, and all of a short text, CRLF normalized', () => {
    expect(linesAround(numbered, 2)).toBe('line 0\nline 1');
    expect(linesAround('a\r\nb', 5, 1)).toBe('a\nb');
  });
});

describe('jaccardSimilarity', () => {
  it('is shared lines over all lines', () => {
    expect(jaccardSimilarity(new Set(['a', 'b', 'c']), new Set(['b', 'c', 'd']))).toBe(0.5);
    expect(jaccardSimilarity(new Set(['a']), new Set(['a']))).toBe(1);
    expect(jaccardSimilarity(new Set(['a']), new Set(['b']))).toBe(0);
    expect(jaccardSimilarity(new Set(), new Set())).toBe(1);
  });
});

describe('ContextRing', () => {
  it('lists chunks oldest first and leaves out the file being edited', () => {
    const ring = new ContextRing(OPTIONS);
    ring.add('src/util.ts', UTIL_TS);
    ring.add('app/models.py', MODELS_PY);
    ring.add('cmd/main.go', MAIN_GO);
    expect(paths(ring)).toEqual(['src/util.ts', 'app/models.py', 'cmd/main.go']);
    expect(paths(ring, 'app/models.py')).toEqual(['src/util.ts', 'cmd/main.go']);
    expect(ring.chunks('none', Infinity)[0]).toEqual({ path: 'src/util.ts', text: UTIL_TS.split('\n').slice(0, 4).join('\n') });
  });

  it('drops the least recently used chunk when full', () => {
    const ring = new ContextRing(OPTIONS);
    ring.add('src/util.ts', UTIL_TS);
    ring.add('app/models.py', MODELS_PY);
    ring.add('cmd/main.go', MAIN_GO);
    ring.add('src/lib.rs', LIB_RS);
    expect(ring.size).toBe(3);
    expect(paths(ring)).toEqual(['app/models.py', 'cmd/main.go', 'src/lib.rs']);
  });

  it('keeps an unchanged chunk added again in its place, only marking it as recently used', () => {
    const ring = new ContextRing(OPTIONS);
    ring.add('src/util.ts', UTIL_TS);
    ring.add('app/models.py', MODELS_PY);
    ring.add('cmd/main.go', MAIN_GO);
    ring.add('src/util.ts', UTIL_TS);
    expect(paths(ring)).toEqual(['src/util.ts', 'app/models.py', 'cmd/main.go']);
    ring.add('src/lib.rs', LIB_RS);
    expect(paths(ring)).toEqual(['src/util.ts', 'cmd/main.go', 'src/lib.rs']);
  });

  it('an edit in a region of a file already held replaces that chunk where it stands (the prompt prefix stays)', () => {
    const ring = new ContextRing({ maxChunks: 5, chunkLines: 40, similarityThreshold: 0.9 });
    // 27 lines each, 26 of them shared: similarity 26 / 28 > 0.9.
    const body = Array.from({ length: 24 }, (_, i) => `    total += values[${i}]`).join('\n');
    ring.add('src/sum.py', `def total(values):\n    total = 0\n${body}\n    return total`);
    ring.add('cmd/main.go', MAIN_GO);
    const edited = `def total(values):\n    total = 0\n${body}\n    return total * 2`;
    ring.add('src/sum.py', edited);
    expect(ring.size).toBe(2);
    expect(ring.chunks('none', Infinity)).toEqual([
      { path: 'src/sum.py', text: edited },
      { path: 'cmd/main.go', text: MAIN_GO },
    ]);
  });

  it('replaces a near-duplicate from another file too (copied text)', () => {
    const ring = new ContextRing({ maxChunks: 5, chunkLines: 10, similarityThreshold: 0.5 });
    ring.add('src/util.ts', UTIL_TS);
    ring.add('src/copy.ts', UTIL_TS.replace('clamp', 'clampValue'));
    expect(paths(ring)).toEqual(['src/copy.ts']);
  });

  it('keeps chunks below the similarity threshold apart', () => {
    const ring = new ContextRing({ maxChunks: 5, chunkLines: 10, similarityThreshold: 0.9 });
    ring.add('src/util.ts', UTIL_TS);
    ring.add('src/util2.ts', UTIL_TS.replace('clamp', 'clampValue'));
    expect(ring.size).toBe(2);
  });

  it('takes the lines around the given line of a long document', () => {
    const ring = new ContextRing({ maxChunks: 2, chunkLines: 3, similarityThreshold: 0.9 });
    const long = Array.from({ length: 50 }, (_, i) => `int v${i} = ${i};`).join('\n');
    ring.add('src/values.c', long, 20);
    expect(ring.chunks('none', Infinity)).toEqual([{ path: 'src/values.c', text: 'int v19 = 19;\nint v20 = 20;\nint v21 = 21;' }]);
  });

  it('ignores blank text', () => {
    const ring = new ContextRing(OPTIONS);
    ring.add('empty.txt', '  \n\n\t');
    expect(ring.size).toBe(0);
  });

  it('stays within the character budget, leaving out chunks that do not fit', () => {
    const ring = new ContextRing({ maxChunks: 5, chunkLines: 10, similarityThreshold: 0.9 });
    ring.add('src/lib.rs', LIB_RS);
    ring.add('src/util.ts', UTIL_TS);
    ring.add('cmd/main.go', MAIN_GO);
    const budget = LIB_RS.length + MAIN_GO.length;
    expect(paths(ring, 'none', budget)).toEqual(['src/lib.rs', 'cmd/main.go']);
    expect(paths(ring, 'none', 0)).toEqual([]);
    expect(paths(ring, 'none', Number.NaN)).toEqual([]);
  });

  it('resizes: fewer chunks drops the least recently used, a new chunk size applies to new chunks', () => {
    const ring = new ContextRing(OPTIONS);
    ring.add('src/util.ts', UTIL_TS);
    ring.add('app/models.py', MODELS_PY);
    ring.add('cmd/main.go', MAIN_GO);
    ring.resize({ maxChunks: 2 });
    expect(paths(ring)).toEqual(['app/models.py', 'cmd/main.go']);
    ring.resize({ chunkLines: 1 });
    ring.add('src/lib.rs', LIB_RS);
    expect(ring.chunks('none', Infinity).at(-1)).toEqual({ path: 'src/lib.rs', text: 'pub fn add(a: i32, b: i32) -> i32 {' });
  });

  it('holds nothing with room for no chunk, and nothing after clear', () => {
    const none = new ContextRing({ ...OPTIONS, maxChunks: 0 });
    none.add('src/util.ts', UTIL_TS);
    expect(none.size).toBe(0);
    const ring = new ContextRing(OPTIONS);
    ring.add('src/util.ts', UTIL_TS);
    ring.clear();
    expect(ring.size).toBe(0);
    expect(ring.chunks('none', Infinity)).toEqual([]);
  });

  it('returns copies: changing a returned chunk does not change the ring', () => {
    const ring = new ContextRing(OPTIONS);
    ring.add('src/lib.rs', LIB_RS);
    const [first] = ring.chunks('none', Infinity);
    if (first) first.text = 'changed';
    expect(ring.chunks('none', Infinity)[0]?.text).toBe(LIB_RS);
  });
});
