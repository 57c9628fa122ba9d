// Builds the token sequence of a fill-in-the-middle (code completion) request, in the PSM order
// llama.cpp's server /infill uses:
//
//   [BOS if the vocab adds one] [extra context] FIM_PRE prefix FIM_SUF suffix FIM_MID
//
// Extra context has two formats:
// * 'fim-repo' (Qwen2.5-Coder's repository-level format) when the vocabulary has `<|file_sep|>`
//   as a single special token and the request carries context (chunks or a repo name):
//     <|repo_name|>{repoName}\n  <|file_sep|>{path}\n{text}\n  (per chunk)  <|file_sep|>{filePath}\n
//   The repo line needs `<|repo_name|>` in the vocab and a repoName; a missing path is 'untitled'.
// * otherwise each chunk is plain text `--- {path ?? 'snippet'} ---\n{text}\n\n` (mode 'fim'): a
//   neutral banner in no programming language's comment syntax, close to the
//   `--- snippet ---` separator llama.cpp's server uses.
// Without FIM tokens in the vocab the request degrades to 'prefix-only': [BOS] chunks prefix.
//
// Every piece of user text is tokenized on its own with parseSpecial = false, so text such as
// `<|fim_prefix|>` in a file can never become a control token. (SentencePiece vocabs prepend a
// space to each piece, as llama.cpp's /infill does too.)
//
// Prefix reuse: everything before the cursor comes first and in a fixed order, so typing at the
// end of the prefix only changes tokens at its end. When the prefix must be cut, the cut lands
// on a line whose number is a multiple of CUT_LINE_STEP where possible, so the start of the
// prompt stays the same for several lines of typing instead of moving with every new line;
// else on any line start. A line cut that would waste much of the budget (long lines, small
// budgets) gives way to the next finer one, down to a token-wise cut.
import type { SpecialTokensJson } from './native';

export interface PromptTokenizer {
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  specialTokens(): SpecialTokensJson;
}

export interface ContextChunk {
  path?: string;
  text: string;
}

export interface FimInput {
  prefix: string;
  suffix: string;
  chunks: readonly ContextChunk[];
  filePath?: string;
  repoName?: string;
}

export type FimMode = 'fim' | 'fim-repo' | 'prefix-only';

export interface FimPrompt {
  tokens: number[];
  mode: FimMode;
  nPrefixTokens: number;
  nSuffixTokens: number;
  chunksUsed: number;
  chunksDropped: number;
}

/** buildFimPrompt was called with a budget it cannot work with. */
export class FimPromptError extends Error {
  readonly kind = 'invalid_argument';

  constructor(message: string) {
    super(message);
    this.name = 'FimPromptError';
  }
}

/** The smallest prompt budget accepted: BOS, three FIM tokens and a little code. */
export const MIN_FIM_BUDGET = 8;
/** A prefix cut prefers lines whose 0-based number is a multiple of this (see the header). */
const CUT_LINE_STEP = 8;
/** A grid-line cut is taken when it fills at least this share of the budget (else any line start). */
const GRID_CUT_MIN_FILL = 0.75;
/** A line cut is taken when it fills at least this share of the budget (else the cut is token-wise). */
const LINE_CUT_MIN_FILL = 0.5;
const UNNAMED_PATH = 'untitled';

interface FimIds {
  prefix: number;
  suffix: number;
  middle: number;
}

/** How extra context is written: tokens before the chunks, per chunk, and after the chunks. */
interface ContextFormat {
  mode: FimMode;
  head: number[];
  chunk(chunk: ContextChunk): number[];
  tail: number[];
}

/** maxTokens: the prompt budget in tokens (>= 8). */
export function buildFimPrompt(tok: PromptTokenizer, input: FimInput, maxTokens: number): FimPrompt {
  if (!Number.isInteger(maxTokens) || maxTokens < MIN_FIM_BUDGET) {
    throw new FimPromptError(`FIM prompt budget must be an integer >= ${MIN_FIM_BUDGET} tokens, got ${maxTokens}; give the request more context room`);
  }
  const special = tok.specialTokens();
  const bos = special.addBos && special.bos >= 0 ? [special.bos] : [];
  const fim = fimIds(special);
  const codeBudget = maxTokens - bos.length - (fim ? 3 : 0);
  const format = contextFormat(tok, input, fim, codeBudget);
  const framing = format.head.length + format.tail.length;

  const prefixTokens = encode(tok, input.prefix);
  const suffixTokens = format.mode === 'prefix-only' ? [] : encode(tok, input.suffix);
  const chunkTokens = input.chunks.map((c) => format.chunk(c));

  // Drop chunks, first (oldest) first, until the chunks and the whole code fit.
  let available = codeBudget - framing;
  let chunkTotal = chunkTokens.reduce((sum, t) => sum + t.length, 0);
  let firstChunk = 0;
  while (firstChunk < chunkTokens.length && chunkTotal + prefixTokens.length + suffixTokens.length > available) {
    chunkTotal -= chunkTokens[firstChunk]?.length ?? 0;
    firstChunk++;
  }
  available -= chunkTotal;

  const [prefixBudget, suffixBudget] = splitBudget(available, prefixTokens.length, suffixTokens.length);
  const prefix = prefixTokens.length <= prefixBudget ? prefixTokens : cutPrefix(tok, input.prefix, prefixTokens, prefixBudget);
  const suffix = suffixTokens.length <= suffixBudget ? suffixTokens : cutSuffix(tok, input.suffix, suffixTokens, suffixBudget);

  const context = [...format.head, ...chunkTokens.slice(firstChunk).flat(), ...format.tail];
  const tokens = fim
    ? [...bos, ...context, fim.prefix, ...prefix, fim.suffix, ...suffix, fim.middle]
    : [...bos, ...context, ...prefix];
  return {
    tokens,
    mode: format.mode,
    nPrefixTokens: prefix.length,
    nSuffixTokens: suffix.length,
    chunksUsed: chunkTokens.length - firstChunk,
    chunksDropped: firstChunk,
  };
}

function fimIds(special: SpecialTokensJson): FimIds | null {
  const { fimPrefix, fimSuffix, fimMiddle } = special;
  if (fimPrefix < 0 || fimSuffix < 0 || fimMiddle < 0) return null;
  return { prefix: fimPrefix, suffix: fimSuffix, middle: fimMiddle };
}

function contextFormat(tok: PromptTokenizer, input: FimInput, fim: FimIds | null, codeBudget: number): ContextFormat {
  const plain: ContextFormat = {
    mode: fim ? 'fim' : 'prefix-only',
    head: [],
    chunk: (c) => encode(tok, `--- ${c.path ?? 'snippet'} ---\n${c.text}\n\n`),
    tail: [],
  };
  if (!fim || (input.chunks.length === 0 && input.repoName === undefined)) return plain;
  const fileSep = singleSpecialToken(tok, '<|file_sep|>');
  if (fileSep === null) return plain;
  const repoNameId = singleSpecialToken(tok, '<|repo_name|>');
  const repo: ContextFormat = {
    mode: 'fim-repo',
    head: repoNameId !== null && input.repoName !== undefined ? [repoNameId, ...encode(tok, `${input.repoName}\n`)] : [],
    chunk: (c) => [fileSep, ...encode(tok, `${c.path ?? UNNAMED_PATH}\n${c.text}\n`)],
    tail: [fileSep, ...encode(tok, `${input.filePath ?? UNNAMED_PATH}\n`)],
  };
  // Absurdly long names must not starve the code: the repo framing may take half the budget at most.
  return repo.head.length + repo.tail.length <= codeBudget / 2 ? repo : plain;
}

/** The id of `text` when the vocab has it as one special token (parsed only with parseSpecial), else null. */
function singleSpecialToken(tok: PromptTokenizer, text: string): number | null {
  const parsed = tok.tokenize(text, false, true);
  const id = parsed[0];
  if (parsed.length !== 1 || id === undefined) return null;
  const plain = tok.tokenize(text, false, false);
  return plain.length === 1 && plain[0] === id ? null : id;
}

function encode(tok: PromptTokenizer, text: string): number[] {
  return text.length === 0 ? [] : Array.from(tok.tokenize(text, false, false));
}

/**
 * Splits `available` tokens between prefix and suffix when both do not fit: about 3/4 to the
 * prefix, and whatever one side does not need goes to the other. The suffix gets nothing when
 * it is empty (prefix-only mode).
 */
function splitBudget(available: number, prefixLength: number, suffixLength: number): [number, number] {
  const room = Math.max(0, available);
  if (prefixLength + suffixLength <= room) return [prefixLength, suffixLength];
  const prefixShare = Math.floor((room * 3) / 4);
  const suffixShare = room - prefixShare;
  if (suffixLength < suffixShare) return [room - suffixLength, suffixLength];
  if (prefixLength < prefixShare) return [prefixLength, room - prefixLength];
  return [prefixShare, suffixShare];
}

/** Keeps the end of the prefix (nearest the cursor), starting at a line start when one fits. */
function cutPrefix(tok: PromptTokenizer, text: string, tokens: number[], budget: number): number[] {
  if (budget <= 0) return [];
  const lineStarts: number[] = [];
  const gridLineStarts: number[] = [];
  let line = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i + 1 < text.length; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStarts.push(i + 1);
    if (line % CUT_LINE_STEP === 0) gridLineStarts.push(i + 1);
  }
  const keepFrom = (start: number): number[] => encode(tok, text.slice(start));
  return (
    firstFitting(gridLineStarts, keepFrom, budget, GRID_CUT_MIN_FILL) ??
    firstFitting(lineStarts, keepFrom, budget, LINE_CUT_MIN_FILL) ??
    tokens.slice(tokens.length - budget)
  );
}

/** Keeps the start of the suffix (nearest the cursor), ending after a newline when one fits. */
function cutSuffix(tok: PromptTokenizer, text: string, tokens: number[], budget: number): number[] {
  if (budget <= 0) return [];
  const lineEnds: number[] = [];
  for (let i = text.lastIndexOf('\n', text.length - 2); i >= 0; i = i === 0 ? -1 : text.lastIndexOf('\n', i - 1)) {
    lineEnds.push(i + 1);
  }
  const keepTo = (end: number): number[] => encode(tok, text.slice(0, end));
  return firstFitting(lineEnds, keepTo, budget, LINE_CUT_MIN_FILL) ?? tokens.slice(0, budget);
}

/**
 * `candidates` are ordered from the most text kept to the least; the tokens of the first one
 * that fits in `budget` (binary search: the token count falls as less text is kept), or null
 * when none fits or the best one fills less than `minFill` of the budget.
 */
function firstFitting(candidates: readonly number[], tokensOf: (candidate: number) => number[], budget: number, minFill: number): number[] | null {
  let lo = 0;
  let hi = candidates.length - 1;
  let best: number[] | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const candidate = candidates[mid];
    if (candidate === undefined) break;
    const tokens = tokensOf(candidate);
    if (tokens.length <= budget) {
      best = tokens;
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  return best !== null && best.length >= budget * minFill ? best : null;
}
