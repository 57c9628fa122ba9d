// remainingSuggestion: typing through a shown suggestion, with sliding prefix windows,
// backspace, other characters, auto-closed brackets.
import { describe, expect, it } from 'vitest';

import { cursorContext, type ContextWindow, type CursorContext } from '../../../extension/completion/cursor-context';
import { remainingSuggestion, type ShownSuggestion } from '../../../extension/completion/typed-ahead';

const PATH = 'src/app.py';

interface Editor {
  document: string;
  offset: number;
}

function contextOf(editor: Editor, window: ContextWindow): CursorContext {
  return cursorContext(editor.document, editor.offset, window, PATH, 'python');
}

/** The editor after typing `typed` at the cursor (and `autoClosed` inserted after it, as editors do for `(`). */
function typeText(editor: Editor, typed: string, autoClosed = ''): Editor {
  const { document, offset } = editor;
  return { document: document.slice(0, offset) + typed + autoClosed + document.slice(offset), offset: offset + typed.length };
}

function show(editor: Editor, window: ContextWindow, text: string): ShownSuggestion {
  const ctx = contextOf(editor, window);
  return { prefix: ctx.prefix, suffix: ctx.suffix, filePath: ctx.filePath, text };
}

const PYTHON = ['import math', '', '', 'def area(r):', '    """Area of a circle."""', '    ', '', 'print(area(2))', ''].join('\n');
/** At the end of the blank indented line inside area(). */
const IN_BODY: Editor = { document: PYTHON, offset: PYTHON.indexOf('    \n\nprint') + 4 };
const WIDE: ContextWindow = { prefixLines: 50, suffixLines: 50 };
const NARROW: ContextWindow = { prefixLines: 2, suffixLines: 2 };
const BODY = 'result = math.pi * r * r\n    return result';

describe('remainingSuggestion', () => {
  it('gives the rest of the suggestion after typing its first characters', () => {
    const shown = show(IN_BODY, WIDE, BODY);
    expect(remainingSuggestion(shown, contextOf(typeText(IN_BODY, 'res'), WIDE))).toBe('ult = math.pi * r * r\n    return result');
  });

  it('gives the whole suggestion when nothing was typed, null once it is all typed', () => {
    const shown = show(IN_BODY, WIDE, BODY);
    expect(remainingSuggestion(shown, contextOf(IN_BODY, WIDE))).toBe(BODY);
    expect(remainingSuggestion(shown, contextOf(typeText(IN_BODY, BODY), WIDE))).toBeNull();
  });

  it('gives the rest at every keystroke while typing through a multi-line suggestion, windows sliding', () => {
    for (const window of [WIDE, NARROW]) {
      const shown = show(IN_BODY, window, BODY);
      for (let typed = 0; typed <= BODY.length; typed++) {
        const now = contextOf(typeText(IN_BODY, BODY.slice(0, typed)), window);
        const rest = BODY.slice(typed);
        expect(remainingSuggestion(shown, now), `${typed} typed, ${window.prefixLines} prefix lines`).toBe(rest.trim() === '' ? null : rest);
      }
    }
  });

  it('follows a window that slid by several lines when several line breaks were typed', () => {
    const text = '\n    a = 1\n    b = 2\n    return a + b';
    const start: Editor = { document: PYTHON, offset: PYTHON.indexOf('\n    """Area') };
    const window = { prefixLines: 3, suffixLines: 3 };
    const shown = show(start, window, text);
    const now = contextOf(typeText(start, '\n    a = 1\n    b'), window);
    expect(now.prefix.startsWith(shown.prefix)).toBe(false);
    expect(remainingSuggestion(shown, now)).toBe(' = 2\n    return a + b');
  });

  it('is null once the typed line breaks pushed all of the shown prefix out of the window', () => {
    const oneLine = { prefixLines: 1, suffixLines: 1 };
    const shown = show(IN_BODY, oneLine, BODY);
    expect(remainingSuggestion(shown, contextOf(typeText(IN_BODY, 'result = math.pi'), oneLine))).toBe(' * r * r\n    return result');
    expect(remainingSuggestion(shown, contextOf(typeText(IN_BODY, 'result = math.pi * r * r\n  '), oneLine))).toBeNull();
  });

  it('is null after a backspace', () => {
    const typed = typeText(IN_BODY, 'resu');
    const shown = show(typed, WIDE, 'lt = 1');
    const backspaced: Editor = { document: typed.document.slice(0, typed.offset - 1) + typed.document.slice(typed.offset), offset: typed.offset - 1 };
    expect(remainingSuggestion(shown, contextOf(backspaced, WIDE))).toBeNull();
  });

  it('is null after typing a character the suggestion does not have next', () => {
    const shown = show(IN_BODY, WIDE, BODY);
    expect(remainingSuggestion(shown, contextOf(typeText(IN_BODY, 'rez'), WIDE))).toBeNull();
    expect(remainingSuggestion(shown, contextOf(typeText(IN_BODY, 'R'), WIDE))).toBeNull();
  });

  it('is null in another file, or when the text after the cursor changed', () => {
    const shown = show(IN_BODY, WIDE, BODY);
    expect(remainingSuggestion(shown, { ...contextOf(IN_BODY, WIDE), filePath: 'src/other.py' })).toBeNull();
    const deletedAfter: Editor = { document: PYTHON.replace('print(area(2))', 'print(area(3))'), offset: IN_BODY.offset };
    expect(remainingSuggestion(shown, contextOf(deletedAfter, WIDE))).toBeNull();
  });

  it('is null when the cursor moved elsewhere in the same line', () => {
    const line: Editor = { document: 'total = compute(values)\n', offset: 'total = compute('.length };
    const shown = show(line, WIDE, 'values');
    expect(remainingSuggestion(shown, contextOf({ ...line, offset: line.offset - 1 }, WIDE))).toBeNull();
  });

  it('leaves out a closing bracket the editor inserted when its opener was typed', () => {
    const line: Editor = { document: 'x = \n', offset: 4 };
    const shown = show(line, WIDE, 'max(a, b)');
    expect(remainingSuggestion(shown, contextOf(typeText(line, 'max(', ')'), WIDE))).toBe('a, b');
    expect(remainingSuggestion(shown, contextOf(typeText(line, 'max(a, b', ')'), WIDE))).toBeNull();
  });

  it('is null when the inserted closer is not where the suggestion ends, or not a closer at all', () => {
    const line: Editor = { document: 'x = \n', offset: 4 };
    const shown = show(line, WIDE, 'max(a, b) + 1');
    expect(remainingSuggestion(shown, contextOf(typeText(line, 'max(', ')'), WIDE))).toBeNull();
    expect(remainingSuggestion(shown, contextOf(typeText(line, 'max(', 'zz'), WIDE))).toBeNull();
  });

  it('keeps the suggestion through the indentation an editor adds on Enter', () => {
    const end: Editor = { document: 'def f(x):', offset: 'def f(x):'.length };
    const shown = show(end, NARROW, '\n    return x * 2');
    expect(remainingSuggestion(shown, contextOf(typeText(end, '\n    '), NARROW))).toBe('return x * 2');
  });

  it('is null when only whitespace would be left', () => {
    const line: Editor = { document: 'p = point()', offset: 'p = point('.length };
    const shown = show(line, WIDE, 'x, ');
    expect(remainingSuggestion(shown, contextOf(typeText(line, 'x,'), WIDE))).toBeNull();
  });

  it('prefers the shortest typed text when a periodic window fits several', () => {
    const repeated: Editor = { document: 'x\nx\nx\n', offset: 6 };
    const window = { prefixLines: 3, suffixLines: 3 };
    const shown = show(repeated, window, 'x\nx\nx');
    expect(remainingSuggestion(shown, contextOf(typeText(repeated, 'x'), window))).toBe('\nx\nx');
  });

  it('works at the very start of a document', () => {
    const empty: Editor = { document: '', offset: 0 };
    const shown = show(empty, NARROW, 'import os\nimport sys');
    expect(remainingSuggestion(shown, contextOf(typeText(empty, 'import os\nim'), NARROW))).toBe('port sys');
  });
});
