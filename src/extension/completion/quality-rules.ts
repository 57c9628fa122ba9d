// Turns the engine's raw completion text into what is shown as ghost text. Each rule is a pure
// function of the text and the cursor context, exported for tests; shapeSuggestion applies them
// in order:
//   1. line breaks as '\n';
//   2. one line only when text follows the cursor on its line;
//   3. stop at the end of the block, by indentation;
//   4. at most maxLines lines;
//   5. no trailing whitespace (kept at the very end only when the suggestion joins text that
//      follows on the cursor's line, as in `f(|b)` -> `a, `);
//   6. no repeat of the text that already follows the cursor: not the rest of the line written
//      again and more (`a);` before `)`), not an end that is the start of what follows (`foo)`
//      before `)`, `\n}` before `\n}`) - aware of brackets and quotes, so that `foo()` before
//      `)` stays whole;
//   7. nothing when all that is left is whitespace, or lines that already follow the cursor.
import type { CursorContext } from './cursor-context';
import { indentWidth, isBlank, normalizeNewlines, trimLineEnd } from './text-lines';

export { normalizeNewlines } from './text-lines';

export interface SuggestionLimits {
  maxLines: number;
}

/** A suggestion always keeps at least one line. */
const MIN_LINES = 1;
const OPENING_BRACKETS = '([{';
const CLOSING_BRACKETS = ')]}';
const QUOTES = '"\'`';
/**
 * A line that starts with one of these closes a block (brace languages, Ruby/Lua/Julia, shell,
 * VimL/PHP templates) - a keyword only when it is not used as a name (`end = 5`, `done()`).
 */
const BLOCK_CLOSER = /^\s*(?:[)\]}]|(?:end|endif|endfor|endwhile|endfunction|fi|done|esac)\b(?!\s*[=(.[:]))/;
/** A line that starts with one of these continues the statement whose block just ended (if/else, try/except). */
const BLOCK_CONTINUATION = /^\s*(?:else|elif|elsif|elseif|except|catch|finally|rescue|ensure)\b/;
/** A line whose code ends with one of these opens a block or a bracket on the next line. */
const ENDS_WITH_OPENER = /[([{:]\s*$/;

/** True when text that is not whitespace follows the cursor on its line. */
function cursorInsideLine(ctx: CursorContext): boolean {
  return !isBlank(ctx.lineSuffix);
}

/** Rule 2: only the first line when the cursor is in the middle of a line. */
export function singleLineInsideLine(text: string, ctx: CursorContext): string {
  if (!cursorInsideLine(ctx)) return text;
  const newline = text.indexOf('\n');
  return newline < 0 ? text : text.slice(0, newline);
}

function nextNonBlankIndex(lines: readonly string[], from: number): number {
  for (let i = from; i < lines.length; i++) if (!isBlank(lines[i] ?? '')) return i;
  return -1;
}

/** The first `count` lines (at least one), without the blank lines that would end them. */
function firstLines(lines: readonly string[], count: number): string {
  let end = count;
  while (end > 1 && isBlank(lines[end - 1] ?? '')) end--;
  return lines.slice(0, Math.max(1, end)).join('\n');
}

/**
 * Rule 3: the suggestion ends where its block ends. The reference is the first non-blank line
 * of the result (the cursor's line completed by the suggestion's first line, else the first
 * non-blank suggestion line). When the next non-blank line is deeper, the reference line opened
 * a block: the suggestion ends at the first line back at the reference indentation - kept when
 * it only closes the block (`}`, `});`, `end`), passed when it goes on with a deeper block
 * (`} else {`, `elif x:`), dropped otherwise (Python's next statement). Otherwise the suggestion
 * goes on at the reference indentation and ends before the first line dedented below it.
 */
export function stopAtBlockEnd(text: string, ctx: CursorContext): string {
  const lines = text.split('\n');
  const firstLine = ctx.linePrefix + (lines[0] ?? '');
  const referenceIndex = isBlank(firstLine) ? nextNonBlankIndex(lines, 1) : 0;
  if (referenceIndex < 0) return text;
  const reference = indentWidth(referenceIndex === 0 ? firstLine : (lines[referenceIndex] ?? ''));
  const firstInside = nextNonBlankIndex(lines, referenceIndex + 1);
  if (firstInside < 0) return text;
  const opensBlock = indentWidth(lines[firstInside] ?? '') > reference;
  for (let i = firstInside; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (isBlank(line)) continue;
    const indent = indentWidth(line);
    if (indent > reference || (indent === reference && !opensBlock)) continue;
    if (indent === reference) {
      const next = nextNonBlankIndex(lines, i + 1);
      const reopens = next >= 0 && indentWidth(lines[next] ?? '') > reference;
      if ((BLOCK_CLOSER.test(line) || BLOCK_CONTINUATION.test(line)) && reopens) continue;
      const closesCleanly = BLOCK_CLOSER.test(line) && !ENDS_WITH_OPENER.test(line);
      return firstLines(lines, closesCleanly ? i + 1 : i);
    }
    return firstLines(lines, i);
  }
  return text;
}

/** Rule 4: at most maxLines lines; an empty first line (the suggestion starts on the next line) does not count. */
export function limitLines(text: string, maxLines: number): string {
  const lines = text.split('\n');
  const startsOnNextLine = lines.length > 1 && isBlank(lines[0] ?? '');
  const allowed = (Number.isNaN(maxLines) ? MIN_LINES : Math.max(MIN_LINES, Math.floor(maxLines))) + (startsOnNextLine ? 1 : 0);
  return lines.length <= allowed ? text : lines.slice(0, allowed).join('\n');
}

/** True when the cursor's line goes on right after the cursor with text (`f(|b)`, `x = |;`). */
function joinsTextAfterCursor(ctx: CursorContext): boolean {
  return ctx.lineSuffix.length > 0 && !/^\s/.test(ctx.lineSuffix);
}

/**
 * Rule 5: no trailing spaces on any line and no trailing blank lines. A one-line suggestion that
 * joins text right after the cursor keeps its spaces (`foo(|bar)` + `x, ` must not become
 * `foo(x,bar)`).
 */
export function trimTrailingWhitespace(text: string, ctx: CursorContext): string {
  if (!text.includes('\n') && joinsTextAfterCursor(ctx)) return text;
  const lines = text.split('\n').map(trimLineEnd);
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n');
}

function countOf(text: string, char: string): number {
  let count = 0;
  for (const c of text) if (c === char) count++;
  return count;
}

/**
 * True when dropping text[from..] (it repeats what follows the cursor) keeps the suggestion's
 * own pairs whole: no closing bracket there matches an opening bracket before `from`, and no
 * quote there closes a string the suggestion opened before `from`. (`foo()` before `)` keeps its
 * `)`; `x)` before `)` drops it, that `)` closes a bracket opened before the cursor.)
 */
function overlapIsOnlyRepeat(text: string, from: number): boolean {
  const openAt: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (OPENING_BRACKETS.includes(char)) {
      openAt.push(i);
    } else if (CLOSING_BRACKETS.includes(char)) {
      const opener = openAt.pop();
      if (opener !== undefined && opener < from && i >= from) return false;
    }
  }
  const repeated = text.slice(from);
  for (const quote of QUOTES) {
    if (repeated.includes(quote) && countOf(text.slice(0, from), quote) % 2 === 1) return false;
  }
  return true;
}

/** A letter, digit, `_` or `$`: a character that can go on an identifier. */
const WORD_CHAR = /[\p{L}\p{N}_$]/u;

function isWordChar(char: string | undefined): boolean {
  return char !== undefined && WORD_CHAR.test(char);
}

/**
 * Rule 6a: inside a line, a one-line suggestion that writes the rest of the line again (and maybe
 * more: `value); // debug` before `);`) ends where that repeat starts - at its first occurrence
 * that stands on word boundaries and is a repeat, not the suggestion's own bracket or quote.
 */
export function stopAtRestOfLine(text: string, ctx: CursorContext): string {
  const restOfLine = trimLineEnd(ctx.lineSuffix);
  if (isBlank(restOfLine) || text.includes('\n')) return text;
  for (let at = text.indexOf(restOfLine); at >= 0; at = text.indexOf(restOfLine, at + 1)) {
    const end = at + restOfLine.length;
    const startsAtBoundary = !isWordChar(restOfLine[0]) || !isWordChar(text[at - 1]);
    const endsAtBoundary = !isWordChar(restOfLine[restOfLine.length - 1]) || !isWordChar(text[end]);
    if (startsAtBoundary && endsAtBoundary && overlapIsOnlyRepeat(text.slice(0, end), at)) return text.slice(0, at);
  }
  return text;
}

/**
 * Rule 6b: the longest end of the suggestion (trailing spaces aside) that is also the start of
 * the text after the cursor is dropped, when it is a repeat and not the suggestion's own closing
 * bracket or quote. Across lines too: a block's `\n}` that already follows is not written twice.
 */
export function stripSuffixOverlap(text: string, ctx: CursorContext): string {
  const core = trimLineEnd(text);
  const lastChar = core.charCodeAt(core.length - 1);
  for (let length = Math.min(core.length, ctx.suffix.length); length > 0; length--) {
    if (ctx.suffix.charCodeAt(length - 1) !== lastChar) continue;
    const from = core.length - length;
    if (core.endsWith(ctx.suffix.slice(0, length)) && overlapIsOnlyRepeat(core, from)) return core.slice(0, from);
  }
  return text;
}

/**
 * Rule 7: true when every non-blank line the suggestion writes is already there, in order, as the
 * next non-blank lines after the cursor's line (trailing spaces aside). The suggestion's first
 * line counts as a line it writes only when the cursor's line is otherwise blank.
 */
export function duplicatesFollowingLines(text: string, ctx: CursorContext): boolean {
  const [first = '', ...rest] = text.split('\n');
  const firstIsWholeLine = isBlank(ctx.linePrefix) && isBlank(ctx.lineSuffix);
  const written = [firstIsWholeLine ? ctx.linePrefix + first : '', ...rest].filter((line) => !isBlank(line)).map(trimLineEnd);
  if (written.length === 0) return false;
  const following = ctx.suffix.split('\n').slice(1).filter((line) => !isBlank(line)).map(trimLineEnd);
  return written.every((line, i) => line === following[i]);
}

/** Applies every rule in order; null when nothing worth showing is left. */
export function shapeSuggestion(raw: string, ctx: CursorContext, limits: SuggestionLimits): string | null {
  let text = normalizeNewlines(raw);
  text = singleLineInsideLine(text, ctx);
  text = stopAtBlockEnd(text, ctx);
  text = limitLines(text, limits.maxLines);
  text = trimTrailingWhitespace(text, ctx);
  // Dropping a repeated `\n}` can leave a blank last line: trim again.
  text = trimTrailingWhitespace(stripSuffixOverlap(stopAtRestOfLine(text, ctx), ctx), ctx);
  return isBlank(text) || duplicatesFollowingLines(text, ctx) ? null : text;
}
