// The keystroke trace of the typing benchmark: real code being written into several files in
// several languages. It is SYNTHESIZED, not recorded from a person: the text comes from the
// snippet files in sources/ (each the final state of a file; the part between « and » is what
// gets typed, the rest is already there), and the timing from a seeded random model of typing.
// The same seed always gives the same trace, so it is generated at run time, not stored.
//
// Typing model (all gaps are the time from one keystroke to the next):
//   in a burst        one character per keystroke, gaps 60-200 ms (mean 130 ms, ~8 keys/s)
//   pauses            400-2000 ms (skewed short, mean ~930 ms): after every Enter, after
//                     punctuation with probability PUNCTUATION_PAUSE, after a space that ends
//                     a burst of >= LONG_BURST keys with probability LONG_BURST_PAUSE
//   file switch       1500-2000 ms before the first keystroke in the next file
//   Enter             one keystroke inserting the newline and the next line's indentation,
//                     as an editor's auto-indent does (the trace assumes it guessed right);
//                     no auto-closed brackets or quotes, no typos, no backspace
// Each keystroke is { t_ms, file, offset, text }: at t_ms after the start, `text` is inserted
// at `offset` (UTF-16 units) of files[file], and the cursor ends after it.
//
// `node scripts/bench/typing-trace/trace.mjs [--quick] [--seed N] [--json]` prints the trace.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_SEED = 7;
/** Keystrokes typed per file in the --quick trace (the start of each file's typed part). */
export const QUICK_KEYS_PER_FILE = 22;
const SOURCES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sources');
const TYPED_START = '«';
const TYPED_END = '»';
const LANGUAGE_OF_EXTENSION = { py: 'python', ts: 'typescript', go: 'go', c: 'c' };
const FIRST_KEY_MS = 300;
const BURST_GAP_MS = [60, 200];
const PAUSE_MS = [400, 2000];
const FILE_SWITCH_MS = [1500, 2000];
const PUNCTUATION = new Set([...'(),:;={}[].']);
const PUNCTUATION_PAUSE = 0.2;
const LONG_BURST = 12;
const LONG_BURST_PAUSE = 0.5;

/** The snippet files, in name order: { path, languageId, before, typed, after }. */
export function loadSources(dir = SOURCES) {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.txt'))
    .sort()
    .map((name) => {
      const text = readFileSync(path.join(dir, name), 'utf8');
      const start = text.indexOf(TYPED_START);
      const end = text.indexOf(TYPED_END);
      if (start < 0 || end < start) throw new Error(`typing trace: ${name} needs one ${TYPED_START}...${TYPED_END} region (the text to type)`);
      const filePath = name.slice(0, -'.txt'.length);
      const languageId = LANGUAGE_OF_EXTENSION[path.extname(filePath).slice(1)];
      if (!languageId) throw new Error(`typing trace: ${name}: no language for the extension of ${filePath}`);
      return { path: filePath, languageId, before: text.slice(0, start), typed: text.slice(start + 1, end), after: text.slice(end + 1) };
    });
}

/** Splits typed text into keystrokes: one per character, Enter with its indentation as one. */
export function keystrokeTexts(typed) {
  const keys = [];
  for (let i = 0; i < typed.length; ) {
    if (typed[i] === '\n') {
      let j = i + 1;
      while (typed[j] === ' ' || typed[j] === '\t') j++;
      keys.push(typed.slice(i, j));
      i = j;
    } else {
      const char = String.fromCodePoint(typed.codePointAt(i));
      keys.push(char);
      i += char.length;
    }
  }
  return keys;
}

// mulberry32: a small, fast, seedable generator; plenty for timing jitter.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** options: { seed = DEFAULT_SEED, quick = false, sources = loadSources() } */
export function generateTrace({ seed = DEFAULT_SEED, quick = false, sources = loadSources() } = {}) {
  const rng = random(seed);
  const between = ([lo, hi], u = rng()) => lo + (hi - lo) * u;
  const burstGap = () => between(BURST_GAP_MS, (rng() + rng()) / 2);
  const pause = () => between(PAUSE_MS, rng() ** 2);
  const files = [];
  const keystrokes = [];
  let t = FIRST_KEY_MS;
  sources.forEach((source, file) => {
    files.push({ path: source.path, languageId: source.languageId, initialText: source.before + source.after });
    const texts = keystrokeTexts(source.typed);
    const typed = quick ? texts.slice(0, QUICK_KEYS_PER_FILE) : texts;
    if (file > 0) t += between(FILE_SWITCH_MS);
    let offset = source.before.length;
    let burst = 0;
    typed.forEach((text, i) => {
      keystrokes.push({ t_ms: Math.round(t), file, offset, text });
      offset += text.length;
      burst++;
      if (i === typed.length - 1) return;
      const char = text[text.length - 1];
      const pauses =
        text.startsWith('\n') ||
        (PUNCTUATION.has(char) && rng() < PUNCTUATION_PAUSE) ||
        (char === ' ' && burst >= LONG_BURST && rng() < LONG_BURST_PAUSE);
      if (pauses) burst = 0;
      t += pauses ? pause() : burstGap();
    });
  });
  const last = keystrokes[keystrokes.length - 1];
  return { seed, quick, files, keystrokes, duration_ms: last ? last.t_ms : 0, digest: digest(files, keystrokes) };
}

function digest(files, keystrokes) {
  return createHash('sha256').update(JSON.stringify({ files, keystrokes })).digest('hex').slice(0, 12);
}

/** Applies keystroke `key` to `texts` (every file's current text, by index); returns the file's new text. */
export function applyKeystroke(texts, key) {
  const before = texts[key.file];
  const text = before.slice(0, key.offset) + key.text + before.slice(key.offset);
  texts[key.file] = text;
  return text;
}

/** The time to the next keystroke after each keystroke (Infinity after the last). */
export function gapsAfter(trace) {
  const ks = trace.keystrokes;
  return ks.map((k, i) => (i + 1 < ks.length ? ks[i + 1].t_ms - k.t_ms : Infinity));
}

/** A summary for the benchmark's JSON. */
export function describeTrace(trace, lookingGapMs) {
  const gaps = gapsAfter(trace).filter(Number.isFinite);
  const inBurst = gaps.filter((g) => g < PAUSE_MS[0]);
  const burstTime = inBurst.reduce((s, g) => s + g, 0);
  return {
    seed: trace.seed,
    digest: trace.digest,
    files: trace.files.map((f) => `${f.path} (${f.languageId})`),
    keystrokes: trace.keystrokes.length,
    duration_s: Number((trace.duration_ms / 1000).toFixed(1)),
    keys_per_s_in_bursts: Number((inBurst.length / (burstTime / 1000)).toFixed(2)),
    pauses: gaps.length - inBurst.length,
    looking_keystrokes: gapsAfter(trace).filter((g) => g >= lookingGapMs).length,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const seedAt = argv.indexOf('--seed');
  const trace = generateTrace({ seed: seedAt >= 0 ? Number(argv[seedAt + 1]) : DEFAULT_SEED, quick: argv.includes('--quick') });
  if (argv.includes('--json')) console.log(JSON.stringify(trace));
  else {
    console.log(describeTrace(trace, 300));
    for (const k of trace.keystrokes) console.log(`${String(k.t_ms).padStart(6)} ms  ${trace.files[k.file].path}:${k.offset}  ${JSON.stringify(k.text)}`);
  }
}
