// Typed-ahead reuse: while the user types the start of the suggestion on show, the rest of it
// is still the suggestion, with no new engine request.
//
// Recognizing it from two context windows: the prefix window holds at most N lines, so typing
// a line break can drop the window's first line. The new prefix must therefore be the shown
// prefix, less at most as many whole leading lines as the typed text has line breaks (and never
// all of it: some of the shown prefix must still be there to anchor the match), followed by the
// typed text, a start of the suggestion. Of the typed lengths that fit, the shortest wins (one
// keystroke more is likelier than a periodic window). The suffix must be the same, or the same
// after closing brackets or quotes the editor inserted when the user typed their opening partner
// (`(` gives `()`): the suggestion must then end with them, and they are not suggested twice.
import type { CursorContext } from './cursor-context';
import { countNewlines, isBlank } from './text-lines';

export interface ShownSuggestion {
  prefix: string;
  suffix: string;
  filePath: string;
  text: string;
}

/** What an editor may insert after the cursor by itself as the user types (auto-closed pairs). */
const AUTO_CLOSED_TEXT = /^[)\]}>"'`]+$/;

/** The text inserted right after the cursor since the suggestion was shown: '' (none), auto-closed pairs, or null (the suffix changed otherwise). */
function insertedAfterCursor(shownSuffix: string, nowSuffix: string): string | null {
  if (nowSuffix === shownSuffix) return '';
  if (!nowSuffix.endsWith(shownSuffix)) return null;
  const inserted = nowSuffix.slice(0, nowSuffix.length - shownSuffix.length);
  return AUTO_CLOSED_TEXT.test(inserted) ? inserted : null;
}

/** How much of the suggestion was typed, when `nowPrefix` is the shown prefix (its window slid by whole lines at most) plus a start of the suggestion. */
function typedLength(shown: ShownSuggestion, nowPrefix: string): number | null {
  const grown = nowPrefix.length - shown.prefix.length;
  let dropped = 0;
  let droppedLines = 0;
  for (;;) {
    const length = grown + dropped;
    if (length > shown.text.length) return null;
    if (length >= 0) {
      const typed = shown.text.slice(0, length);
      if (countNewlines(typed) >= droppedLines && nowPrefix.endsWith(typed) && nowPrefix.startsWith(shown.prefix.slice(dropped))) return length;
    }
    const newline = shown.prefix.indexOf('\n', dropped);
    if (newline < 0) return null;
    dropped = newline + 1;
    droppedLines++;
    if (dropped >= shown.prefix.length) return null;
  }
}

/** When the user typed the start of a shown suggestion (same file and suffix), the rest of it; else null, and null once nothing but whitespace is left. */
export function remainingSuggestion(shown: ShownSuggestion, now: CursorContext): string | null {
  if (now.filePath !== shown.filePath) return null;
  const autoClosed = insertedAfterCursor(shown.suffix, now.suffix);
  if (autoClosed === null) return null;
  const length = typedLength(shown, now.prefix);
  if (length === null) return null;
  const rest = shown.text.slice(length);
  if (!rest.endsWith(autoClosed)) return null;
  const remaining = rest.slice(0, rest.length - autoClosed.length);
  return isBlank(remaining) ? null : remaining;
}
