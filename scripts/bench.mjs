// `npm run bench [-- --json]`: measures our engine against llama.cpp (node-llama-cpp) on the
// same files, in the same run, alternating engines; prints per-engine figures and ratios
// ours/llama.cpp. Only ratios from one run mean anything on a shared machine: each round
// runs both engines back to back, a round whose ratio strays more than DISTURBED_BAND from
// the median ratio is counted as disturbed and dropped, and figures are medians of the rest.
//
// Figures (keys are stable; later issues add pp512, tg128, load_ms, rss_mb):
//   tokenize_mb_s   tokenization throughput of source code, MB of text per second
//   vocab_load_ms   time to open a vocab-only GGUF and build the tokenizer
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync, readdirSync } from 'node:fs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const json = process.argv.includes('--json');
const ROUNDS = Number(process.env.ALLOY_BENCH_ROUNDS) || 5;
const DISTURBED_BAND = 0.25;
const log = (...a) => { if (!json) console.log(...a); else console.error(...a); };

const sharedModels = process.env.ALLOY_SHARED_MODELS ?? path.resolve(root, '..', 'shared', 'models');
const addon = require(path.join(root, 'build', 'Release', 'alloy.node'));
const { getLlama } = await import('node-llama-cpp');
// Vocab-only loads make node-llama-cpp log a failed memory estimate; its logs are noise here.
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'disabled' });

// A corpus of real source text: this repository's own TypeScript and C++ (about 200 KB).
function corpus() {
  const files = [];
  for (const dir of ['src/engine', 'src/extension', 'native/core', 'native/addon']) {
    for (const f of readdirSync(path.join(root, dir))) {
      if (/\.(ts|cpp|h)$/.test(f)) files.push(readFileSync(path.join(root, dir, f), 'utf8'));
    }
  }
  return files.join('\n');
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// Keeps the rounds whose ours/theirs ratio is within DISTURBED_BAND of the median ratio.
function undisturbed(ours, theirs) {
  const ratios = ours.map((o, i) => o / theirs[i]);
  const mid = median(ratios);
  const keep = ratios.map((r) => Math.abs(r / mid - 1) <= DISTURBED_BAND);
  return {
    ours: ours.filter((_, i) => keep[i]),
    theirs: theirs.filter((_, i) => keep[i]),
    dropped: keep.filter((k) => !k).length,
  };
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  const r = fn();
  return [Number(process.hrtime.bigint() - t0) / 1e6, r];
}

async function timeAsync(fn) {
  const t0 = process.hrtime.bigint();
  const r = await fn();
  return [Number(process.hrtime.bigint() - t0) / 1e6, r];
}

const text = corpus();
const mb = Buffer.byteLength(text) / 1e6;
const results = {};

for (const vocab of ['qwen2', 'deepseek-coder', 'llama-spm']) {
  const file = path.join(sharedModels, 'vocab', `ggml-vocab-${vocab}.gguf`);
  const ours = { tokenize: [], load: [] };
  const theirs = { tokenize: [], load: [] };
  let tokenCount = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const [oLoad, model] = time(() => new addon.Model(file));
    const [oTok, ids] = time(() => model.tokenize(text, false, false));
    model.close();
    const [tLoad, lm] = await timeAsync(() => llama.loadModel({ modelPath: file, vocabOnly: true }));
    const [tTok, tids] = time(() => lm.tokenize(text, false));
    await lm.dispose();
    if (ids.length !== tids.length) log(`warning: ${vocab}: token counts differ (${ids.length} vs ${tids.length})`);
    tokenCount = ids.length;
    ours.load.push(oLoad);
    ours.tokenize.push(oTok);
    theirs.load.push(tLoad);
    theirs.tokenize.push(tTok);
  }
  const tok = undisturbed(ours.tokenize, theirs.tokenize);
  const load = undisturbed(ours.load, theirs.load);
  const o = { tokenize_mb_s: mb / (median(tok.ours) / 1000), vocab_load_ms: median(load.ours) };
  const t = { tokenize_mb_s: mb / (median(tok.theirs) / 1000), vocab_load_ms: median(load.theirs) };
  results[vocab] = {
    text_mb: Number(mb.toFixed(3)),
    disturbed_rounds: tok.dropped + load.dropped,
    tokens: tokenCount,
    tokenize_mb_s: { ours: round(o.tokenize_mb_s), llama_cpp: round(t.tokenize_mb_s), ratio: round(o.tokenize_mb_s / t.tokenize_mb_s) },
    vocab_load_ms: { ours: round(o.vocab_load_ms), llama_cpp: round(t.vocab_load_ms), ratio: round(o.vocab_load_ms / t.vocab_load_ms) },
  };
  log(`${vocab}: tokenize ${o.tokenize_mb_s.toFixed(2)} vs ${t.tokenize_mb_s.toFixed(2)} MB/s, load ${o.vocab_load_ms.toFixed(1)} vs ${t.vocab_load_ms.toFixed(1)} ms`);
}

function round(x) {
  return Number(x.toFixed(3));
}

const out = { rounds: ROUNDS, threads: 1, tokenizer: results };
if (json) console.log(JSON.stringify(out));
else console.log(JSON.stringify(out, null, 2));
