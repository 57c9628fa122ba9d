// cursorContext: line windows around the cursor, CRLF, document edges; contextKey.
import { describe, expect, it } from 'vitest';

import { contextKey, cursorContext, KEY_PREFIX_LINES, type CursorContext } from '../../../extension/completion/cursor-context';

const GO_SOURCE = [
  'package main', // line 0
  '',
  'import "fmt"',
  '',
  'func main() {', // line 4
  '\tnames := []string{"a", "b"}',
  '\tfor _, name := range names {', // line 6
  '\t\tfmt.Println(name)',
  '\t}',
  '}',
].join('\n');

function offsetOf(text: string, needle: string): number {
  const at = text.indexOf(needle);
  if (at < 0) throw new Error(`${needle} not in the text`);
  return at;
}

describe('cursorContext', () => {
  it('splits the cursor line and keeps whole lines around it within the window', () => {
    const offset = offsetOf(GO_SOURCE, 'range names');
    const ctx = cursorContext(GO_SOURCE, offset, { prefixLines: 3, suffixLines: 2 }, 'cmd/main.go', 'go');
    expect(ctx).toEqual<CursorContext>({
      prefix: 'func main() {\n\tnames := []string{"a", "b"}\n\tfor _, name := ',
      suffix: 'range names {\n\t\tfmt.Println(name)',
      linePrefix: '\tfor _, name := ',
      lineSuffix: 'range names {',
      filePath: 'cmd/main.go',
      languageId: 'go',
    });
  });

  it('gives the whole document when the window is larger', () => {
    const offset = offsetOf(GO_SOURCE, 'fmt.Println');
    const ctx = cursorContext(GO_SOURCE, offset, { prefixLines: 100, suffixLines: 100 }, 'cmd/main.go', 'go');
    expect(ctx.prefix + ctx.suffix).toBe(GO_SOURCE);
    expect(ctx.linePrefix).toBe('\t\t');
    expect(ctx.lineSuffix).toBe('fmt.Println(name)');
  });

  it('with one-line windows, prefix and suffix are the two halves of the cursor line', () => {
    const offset = offsetOf(GO_SOURCE, '"fmt"');
    const ctx = cursorContext(GO_SOURCE, offset, { prefixLines: 1, suffixLines: 1 }, 'cmd/main.go', 'go');
    expect([ctx.prefix, ctx.suffix]).toEqual(['import ', '"fmt"']);
  });

  it('takes at least the cursor line for windows of zero, negative or NaN lines', () => {
    const offset = offsetOf(GO_SOURCE, '"fmt"');
    for (const lines of [0, -3, Number.NaN]) {
      const ctx = cursorContext(GO_SOURCE, offset, { prefixLines: lines, suffixLines: lines }, 'cmd/main.go', 'go');
      expect([ctx.prefix, ctx.suffix]).toEqual(['import ', '"fmt"']);
    }
  });

  it('handles the cursor at the start and at the end of the document', () => {
    const window = { prefixLines: 2, suffixLines: 2 };
    const atStart = cursorContext(GO_SOURCE, 0, window, 'cmd/main.go', 'go');
    expect(atStart).toMatchObject({ prefix: '', linePrefix: '', lineSuffix: 'package main', suffix: 'package main\n' });
    const atEnd = cursorContext(GO_SOURCE, GO_SOURCE.length, window, 'cmd/main.go', 'go');
    expect(atEnd).toMatchObject({ prefix: '\t}\n}', linePrefix: '}', lineSuffix: '', suffix: '' });
  });

  it('clamps an offset outside the document', () => {
    const window = { prefixLines: 1, suffixLines: 1 };
    expect(cursorContext('abc', -5, window, 'a.txt', 'plaintext')).toMatchObject({ prefix: '', suffix: 'abc' });
    expect(cursorContext('abc', 99, window, 'a.txt', 'plaintext')).toMatchObject({ prefix: 'abc', suffix: '' });
  });

  it('handles an empty document', () => {
    expect(cursorContext('', 0, { prefixLines: 5, suffixLines: 5 }, 'empty.py', 'python')).toEqual<CursorContext>({
      prefix: '',
      suffix: '',
      linePrefix: '',
      lineSuffix: '',
      filePath: 'empty.py',
      languageId: 'python',
    });
  });

  it('handles empty lines at the cursor and at the window edges', () => {
    const text = '\n\nx = 1\n\n';
    const ctx = cursorContext(text, 1, { prefixLines: 2, suffixLines: 2 }, 'a.py', 'python');
    expect(ctx).toMatchObject({ prefix: '\n', suffix: '\nx = 1', linePrefix: '', lineSuffix: '' });
  });

  it('normalizes a CRLF document to LF and never leaves a \\r at a window edge', () => {
    const crlf = GO_SOURCE.replaceAll('\n', '\r\n');
    const offset = offsetOf(crlf, 'range names');
    const ctx = cursorContext(crlf, offset, { prefixLines: 3, suffixLines: 2 }, 'cmd/main.go', 'go');
    const lf = cursorContext(GO_SOURCE, offsetOf(GO_SOURCE, 'range names'), { prefixLines: 3, suffixLines: 2 }, 'cmd/main.go', 'go');
    expect(ctx).toEqual(lf);
  });

  it('gives the line break as a whole when the offset falls inside a CRLF', () => {
    const text = 'int a;\r\nint b;\r\n';
    const ctx = cursorContext(text, text.indexOf('\n'), { prefixLines: 5, suffixLines: 5 }, 'src/main.c', 'c');
    expect(ctx).toMatchObject({ prefix: 'int a;', linePrefix: 'int a;', lineSuffix: '', suffix: '\nint b;\n' });
  });

  it('keeps the cursor line whole when it is the last of a CRLF document', () => {
    const text = 'def f():\r\n    return 1';
    const ctx = cursorContext(text, text.length, { prefixLines: 5, suffixLines: 5 }, 'a.py', 'python');
    expect(ctx).toMatchObject({ prefix: 'def f():\n    return 1', linePrefix: '    return 1', suffix: '' });
  });
});

describe('contextKey', () => {
  const base = cursorContext(GO_SOURCE, offsetOf(GO_SOURCE, 'fmt.Println'), { prefixLines: 100, suffixLines: 100 }, 'cmd/main.go', 'go');

  it('is the same for the same context and differs with the path, language, prefix or suffix', () => {
    expect(contextKey({ ...base })).toBe(contextKey(base));
    const others: CursorContext[] = [
      { ...base, filePath: 'cmd/other.go' },
      { ...base, languageId: 'plaintext' },
      { ...base, prefix: base.prefix + 'f' },
      { ...base, suffix: 'x' + base.suffix },
    ];
    for (const other of others) expect(contextKey(other)).not.toBe(contextKey(base));
  });

  it('cannot be confused by text that moves between prefix and suffix', () => {
    expect(contextKey({ ...base, prefix: 'ab', suffix: 'c' })).not.toBe(contextKey({ ...base, prefix: 'a', suffix: 'bc' }));
    expect(contextKey({ ...base, prefix: 'a","b' })).not.toBe(contextKey({ ...base, prefix: 'a', filePath: 'b' }));
  });

  it('ignores prefix lines beyond the last KEY_PREFIX_LINES, so a slid window keeps its key', () => {
    const lines = Array.from({ length: KEY_PREFIX_LINES + 10 }, (_, i) => `let v${i} = ${i};`);
    const longPrefix = lines.join('\n') + '\nlet next = ';
    const slid = longPrefix.split('\n').slice(5).join('\n');
    expect(contextKey({ ...base, prefix: slid })).toBe(contextKey({ ...base, prefix: longPrefix }));
    const tooShort = longPrefix.split('\n').slice(-KEY_PREFIX_LINES + 1).join('\n');
    expect(contextKey({ ...base, prefix: tooShort })).not.toBe(contextKey({ ...base, prefix: longPrefix }));
  });

  it('matches the context after accepting a suggestion, built by appending it to the prefix', () => {
    const document = Array.from({ length: 40 }, (_, i) => `x${i} = ${i}`).join('\n') + '\n';
    const window = { prefixLines: 20, suffixLines: 5 };
    const shown = cursorContext(document, document.length, window, 'a.py', 'python');
    const suggestion = 'y = 1\nz = 2\n';
    const accepted = cursorContext(document + suggestion, document.length + suggestion.length, window, 'a.py', 'python');
    expect(accepted.prefix).not.toBe(shown.prefix + suggestion);
    expect(contextKey({ ...shown, prefix: shown.prefix + suggestion })).toBe(contextKey(accepted));
  });
});
