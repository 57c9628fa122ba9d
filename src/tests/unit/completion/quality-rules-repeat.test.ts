// Quality rules against repeating what follows the cursor, and shapeSuggestion end to end.
// Real code in several languages; █ is the cursor.
import { describe, expect, it } from 'vitest';

import { duplicatesFollowingLines, normalizeNewlines, shapeSuggestion, stopAtRestOfLine, stripSuffixOverlap } from '../../../extension/completion/quality-rules';
import { contextAt } from './cursor-snippet';

const LIMITS = { maxLines: 8 };

describe('stopAtRestOfLine', () => {
  it('ends where the suggestion writes the rest of the line again and goes on (TypeScript)', () => {
    expect(stopAtRestOfLine('value); // debug', contextAt('console.log(█);\n', 'typescript'))).toBe('value');
  });

  it('skips an occurrence that is the suggestion\'s own bracket (Go)', () => {
    expect(stopAtRestOfLine('g(x), y)', contextAt('fmt.Println(█)\n', 'go'))).toBe('g(x), y');
  });

  it('cuts at a repeated identifier only on word boundaries (JavaScript)', () => {
    const ctx = contextAt('const full = █name;', 'javascript');
    expect(stopAtRestOfLine('first + " " + name; // both', ctx)).toBe('first + " " + ');
    expect(stopAtRestOfLine('surname;', ctx)).toBe('surname;');
    expect(stopAtRestOfLine('name;s', contextAt('x = █name;s', 'javascript'))).toBe('');
  });

  it('finds a rest of line that starts with a space (Python)', () => {
    expect(stopAtRestOfLine('bc + 1', contextAt('x = a█ + 1\n', 'python'))).toBe('bc');
  });

  it('leaves multi-line suggestions and lines with nothing after the cursor alone', () => {
    expect(stopAtRestOfLine('a);\nb);', contextAt('f(█);', 'c'))).toBe('a);\nb);');
    expect(stopAtRestOfLine('run();', contextAt('    █   ', 'java'))).toBe('run();');
  });
});

describe('stripSuffixOverlap', () => {
  it('drops the closing text the model wrote again (TypeScript `);`)', () => {
    expect(stripSuffixOverlap('"done");', contextAt('console.log(█);\n', 'typescript'))).toBe('"done"');
  });

  it('drops a `)` that closes a bracket opened before the cursor (Python)', () => {
    expect(stripSuffixOverlap('len(items))', contextAt('print(█)\n', 'python'))).toBe('len(items)');
  });

  it('keeps the suggestion\'s own closing bracket (Python `len(items)` before `)`)', () => {
    expect(stripSuffixOverlap('len(items)', contextAt('print(█)\n', 'python'))).toBe('len(items)');
  });

  it('drops a bracket pair that follows the cursor whole (Go `make()` before `()`)', () => {
    expect(stripSuffixOverlap('newBuffer()', contextAt('buf := █()\n', 'go'))).toBe('newBuffer');
  });

  it('drops a closing quote of a string opened before the cursor, not the suggestion\'s own one', () => {
    expect(stripSuffixOverlap('Alice"', contextAt('name = "█"\n', 'python'))).toBe('Alice');
    expect(stripSuffixOverlap('"a"', contextAt('const s = █"\n', 'javascript'))).toBe('"a"');
  });

  it('drops a repeated word and keeps the spaces before it (JavaScript)', () => {
    expect(stripSuffixOverlap('"user:", name);', contextAt('console.log(█name);', 'javascript'))).toBe('"user:", ');
  });

  it('drops the rest of a Rust macro line written again', () => {
    expect(stripSuffixOverlap('1, 2, 3];', contextAt('let v = vec![█];\n', 'rust'))).toBe('1, 2, 3');
  });

  it('looks past trailing spaces of the suggestion', () => {
    expect(stripSuffixOverlap('value) ', contextAt('f(█)', 'python'))).toBe('value');
  });

  it('drops a closing brace the editor already inserted on the next line (C)', () => {
    const ctx = contextAt('int one(void) {█\n}\n', 'c');
    expect(stripSuffixOverlap('\n  return 1;\n}', ctx)).toBe('\n  return 1;');
  });

  it('drops whole lines at the end that already follow (Java)', () => {
    const ctx = contextAt('int f() {\n  int a = 1;█\n  return a;\n}\n', 'java');
    expect(stripSuffixOverlap('\n  int b = 2;\n  return a;', ctx)).toBe('\n  int b = 2;');
  });

  it('gives an empty text when the suggestion is only what follows', () => {
    expect(stripSuffixOverlap(')', contextAt('foo(█)', 'typescript'))).toBe('');
  });

  it('leaves a suggestion alone when nothing follows or nothing overlaps', () => {
    expect(stripSuffixOverlap('return x;', contextAt('  █', 'c'))).toBe('return x;');
    expect(stripSuffixOverlap('a + b', contextAt('x = █ * 2', 'python'))).toBe('a + b');
  });
});

describe('duplicatesFollowingLines', () => {
  it('is true when the written line is the next line (Python, blank indented cursor line)', () => {
    const ctx = contextAt('def f(xs):\n    total = sum(xs)\n    █\n    return total\n', 'python');
    expect(duplicatesFollowingLines('return total', ctx)).toBe(true);
  });

  it('is true for lines starting on the next line that follow already (TypeScript)', () => {
    const ctx = contextAt('if (ok) {█\n  done();\n  cleanup();\n}\n', 'typescript');
    expect(duplicatesFollowingLines('\n  done();', ctx)).toBe(true);
    expect(duplicatesFollowingLines('\n  done();\n  cleanup();', ctx)).toBe(true);
  });

  it('ignores blank lines and trailing spaces on both sides (Go)', () => {
    const ctx = contextAt('func f() {\n\t█\n\n\tg()  \n}\n', 'go');
    expect(duplicatesFollowingLines('\n\tg()', ctx)).toBe(true);
  });

  it('is false for a new line, or when only the first written lines repeat', () => {
    const ctx = contextAt('if (ok) {█\n  done();\n}\n', 'typescript');
    expect(duplicatesFollowingLines('\n  start();', ctx)).toBe(false);
    expect(duplicatesFollowingLines('\n  done();\n  again();', ctx)).toBe(false);
  });

  it('does not count the first line when the cursor line has text before the cursor (Java)', () => {
    const ctx = contextAt('    count█\n    count++;\n', 'java');
    expect(duplicatesFollowingLines('++;', ctx)).toBe(false);
  });

  it('compares indentation exactly: a closing brace one level deeper is new (C)', () => {
    const ctx = contextAt('  if (x) {\n    y();\n█\n}\n', 'c');
    expect(duplicatesFollowingLines('  }', ctx)).toBe(false);
    expect(duplicatesFollowingLines('}', ctx)).toBe(true);
  });

  it('is false for an empty suggestion', () => {
    expect(duplicatesFollowingLines('', contextAt('█\nx = 1\n', 'python'))).toBe(false);
  });
});

describe('normalizeNewlines', () => {
  it('turns CRLF and lone CR into LF and leaves LF text alone', () => {
    expect(normalizeNewlines('a\r\nb\rc\nd')).toBe('a\nb\nc\nd');
    const lf = 'x\ny';
    expect(normalizeNewlines(lf)).toBe(lf);
  });
});

describe('shapeSuggestion', () => {
  it('shapes a function body: block end, no repeated closing brace (TypeScript)', () => {
    const ctx = contextAt('function square(n: number): number {█\n}\n', 'typescript');
    expect(shapeSuggestion('\n  return n * n;\n}\n\nfunction cube(n: number) {', ctx, LIMITS)).toBe('\n  return n * n;');
  });

  it('keeps the closing brace when none follows (end of a Go file)', () => {
    const ctx = contextAt('func square(n int) int {█', 'go');
    expect(shapeSuggestion('\n\treturn n * n\n}\n\nfunc cube(n int) int {', ctx, LIMITS)).toBe('\n\treturn n * n\n}');
  });

  it('shapes a CRLF answer inside a line (C)', () => {
    const ctx = contextAt('  printf("%d\\n", █);\r\n', 'c');
    expect(shapeSuggestion('count);\r\n  return 0;', ctx, LIMITS)).toBe('count');
  });

  it('limits lines after ending the block (Python)', () => {
    const ctx = contextAt('def describe(p):█', 'python');
    const raw = '\n    print(p.name)\n    print(p.age)\n    print(p.email)\n\ndescribe(me)';
    expect(shapeSuggestion(raw, ctx, { maxLines: 2 })).toBe('\n    print(p.name)\n    print(p.age)');
  });

  it('trims after dropping a repeated closing brace that a blank line preceded (Java)', () => {
    const ctx = contextAt('void run() {█\n}\n', 'java');
    expect(shapeSuggestion('\n  work();\n\n}', ctx, LIMITS)).toBe('\n  work();');
  });

  it('gives null for whitespace only, for only what follows, and for lines that follow already', () => {
    expect(shapeSuggestion('   \n\t\n', contextAt('x = 1\n█', 'python'), LIMITS)).toBeNull();
    expect(shapeSuggestion(')', contextAt('foo(█)', 'typescript'), LIMITS)).toBeNull();
    expect(shapeSuggestion('\n', contextAt('foo(█)', 'typescript'), LIMITS)).toBeNull();
    const rust = contextAt('fn f() -> i32 {\n    █\n    42\n}\n', 'rust');
    expect(shapeSuggestion('42', rust, LIMITS)).toBeNull();
  });

  it('keeps a good one-line suggestion as it is (Rust)', () => {
    const ctx = contextAt('fn main() {\n    let names = vec!["a", "b"];\n    for name in █\n}\n', 'rust');
    expect(shapeSuggestion('names.iter() {', ctx, LIMITS)).toBe('names.iter() {');
  });

  it('ends a one-line suggestion that went past the closing bracket (Python)', () => {
    expect(shapeSuggestion('total, sep=", ")\nprint("done")', contextAt('print(█)\n', 'python'), LIMITS)).toBe('total, sep=", "');
  });

  it('keeps spaces that separate the suggestion from code after the cursor (TypeScript)', () => {
    const ctx = contextAt('const p = makePoint(█y);', 'typescript');
    expect(shapeSuggestion('x, \nconst q = 1;', ctx, LIMITS)).toBe('x, ');
  });
});
