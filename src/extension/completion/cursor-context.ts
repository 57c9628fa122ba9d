// The document around the cursor, as the completion logic sees it: a window of whole lines
// before and after the cursor (line breaks normalized to '\n'), the cursor's own line split at
// the cursor, and a cache key for the context. Pure string work, no VS Code.
import { normalizeNewlines } from './text-lines';

export interface CursorContext {
  /** Text before the cursor, at most `prefixLines` lines (the cursor's line included, cut at a line start). */
  prefix: string;
  /** Text after the cursor, at most `suffixLines` lines. */
  suffix: string;
  /** The cursor's line before / after the cursor. */
  linePrefix: string;
  lineSuffix: string;
  /** Workspace-relative path with '/' separators. */
  filePath: string;
  languageId: string;
}

export interface ContextWindow {
  prefixLines: number;
  suffixLines: number;
}

/**
 * The prefix key keeps the last KEY_PREFIX_LINES lines of the prefix (at most KEY_PREFIX_CHARS
 * characters). Lines rather than characters so that two windows over the same text that start
 * on different lines - a context built by appending an accepted suggestion to a prefix, and the
 * window the editor gives once it is accepted - share their key while the window holds at
 * least that many lines.
 */
export const KEY_PREFIX_LINES = 16;
export const KEY_PREFIX_CHARS = 2000;
/** The suffix key keeps the first KEY_SUFFIX_CHARS characters of the suffix. */
export const KEY_SUFFIX_CHARS = 500;

/** Any window asks for at least the cursor's own line, so prefix ends with linePrefix and suffix starts with lineSuffix. */
const MIN_WINDOW_LINES = 1;

function windowLines(lines: number): number {
  return Number.isNaN(lines) ? MIN_WINDOW_LINES : Math.max(MIN_WINDOW_LINES, Math.floor(lines));
}

/** The start of the line holding `position` (a position just after a '\n' is the start of the next line). */
function lineStartAt(text: string, position: number): number {
  return position <= 0 ? 0 : text.lastIndexOf('\n', position - 1) + 1;
}

/** The start of the `lines`-th line going back from the line holding `end` (that line counts as the first). */
function startOfLastLines(text: string, end: number, lines: number): number {
  let start = lineStartAt(text, end);
  for (let line = 1; line < lines && start > 0; line++) start = lineStartAt(text, start - 1);
  return start;
}

/** The end (a '\n' position or the text's end) of the `lines`-th line going forward from `start`'s line. */
function endOfFirstLines(text: string, start: number, lines: number): number {
  let end = start;
  for (let line = 0; line < lines && end < text.length; line++) {
    const newline = text.indexOf('\n', line === 0 ? end : end + 1);
    end = newline < 0 ? text.length : newline;
  }
  return end;
}

/** A slice that ends at a '\n' of a CRLF document ends with the '\r' of that line break. */
function withoutTrailingCarriageReturn(text: string): string {
  return text.endsWith('\r') ? text.slice(0, -1) : text;
}

/** text: the whole document; offset: the cursor's UTF-16 offset (clamped to the document). */
export function cursorContext(text: string, offset: number, window: ContextWindow, filePath: string, languageId: string): CursorContext {
  let cursor = Number.isNaN(offset) ? 0 : Math.min(Math.max(0, Math.floor(offset)), text.length);
  // Between the '\r' and '\n' of a CRLF line break is no real position: take the one before it.
  if (cursor > 0 && text[cursor - 1] === '\r' && text[cursor] === '\n') cursor--;
  const lineStart = lineStartAt(text, cursor);
  const lineEnd = endOfFirstLines(text, cursor, MIN_WINDOW_LINES);
  const prefixStart = startOfLastLines(text, cursor, windowLines(window.prefixLines));
  const suffixEnd = endOfFirstLines(text, cursor, windowLines(window.suffixLines));
  return {
    prefix: normalizeNewlines(text.slice(prefixStart, cursor)),
    suffix: normalizeNewlines(withoutTrailingCarriageReturn(text.slice(cursor, suffixEnd))),
    linePrefix: text.slice(lineStart, cursor),
    lineSuffix: withoutTrailingCarriageReturn(text.slice(cursor, lineEnd)),
    filePath,
    languageId,
  };
}

/**
 * A key of the context for caches: the exact text of the prefix's last lines and the suffix's
 * start, with the path and language. Contexts that differ only further from the cursor share it.
 */
export function contextKey(ctx: CursorContext): string {
  const prefixTail = ctx.prefix.slice(startOfLastLines(ctx.prefix, ctx.prefix.length, KEY_PREFIX_LINES)).slice(-KEY_PREFIX_CHARS);
  const suffixHead = ctx.suffix.slice(0, KEY_SUFFIX_CHARS);
  return JSON.stringify([ctx.filePath, ctx.languageId, prefixTail, suffixHead]);
}
