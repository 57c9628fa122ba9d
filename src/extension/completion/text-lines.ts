// Line-level text helpers shared by the completion modules: newline normalization, indentation
// width and blank-line tests. Pure string functions, no VS Code.

/** Columns a tab counts for when indentations are compared (only their order matters). */
export const TAB_WIDTH = 4;

const LINE_BREAK = /\r\n?/g;
const LEADING_WHITESPACE = /^[ \t]*/;
const TRAILING_HORIZONTAL_WHITESPACE = /[ \t]+$/;

/** CRLF and lone CR line breaks as LF: the completion modules work on '\n' only. */
export function normalizeNewlines(text: string): string {
  return text.includes('\r') ? text.replace(LINE_BREAK, '\n') : text;
}

/** True when the text has nothing but whitespace (or nothing at all). */
export function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

/** The width of a line's leading spaces and tabs, a tab counting TAB_WIDTH columns. */
export function indentWidth(line: string): number {
  const leading = LEADING_WHITESPACE.exec(line)?.[0] ?? '';
  let width = 0;
  for (const char of leading) width += char === '\t' ? TAB_WIDTH : 1;
  return width;
}

/** The line without its trailing spaces and tabs. */
export function trimLineEnd(line: string): string {
  return line.replace(TRAILING_HORIZONTAL_WHITESPACE, '');
}

/** The number of '\n' in the text. */
export function countNewlines(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) count++;
  return count;
}
