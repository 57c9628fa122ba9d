// The tokenizer benchmark: tokenization throughput of source code and vocab load time, ours
// vs llama.cpp (node-llama-cpp, vocab-only loads), in this process, alternating per round.
//   tokenize_mb_s   tokenization throughput of source code, MB of text per second
//   vocab_load_ms   time to open a vocab-only GGUF and build the tokenizer
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

import { median, round3, undisturbed } from './stats.mjs';

const VOCABS = ['qwen2', 'deepseek-coder', 'llama-spm'];

// A corpus of real source text: this repository's own TypeScript and C++ (about 200 KB).
function corpus(root) {
  const files = [];
  for (const dir of ['src/engine', 'src/extension', 'native/core', 'native/addon']) {
    for (const f of readdirSync(path.join(root, dir))) {
      if (/\.(ts|cpp|h)$/.test(f)) files.push(readFileSync(path.join(root, dir, f), 'utf8'));
    }
  }
  return files.join('\n');
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

function pair(ours, theirs) {
  return { ours: round3(ours), llama_cpp: round3(theirs), ratio: round3(ours / theirs) };
}

// options: { root, sharedModels, addon, rounds, log }. Single-threaded; results per vocab.
export async function benchTokenizer({ root, sharedModels, addon, rounds, log }) {
  const { getLlama } = await import('node-llama-cpp');
  // Vocab-only loads make node-llama-cpp log a failed memory estimate; its logs are noise here.
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'disabled' });
  const text = corpus(root);
  const mb = Buffer.byteLength(text) / 1e6;
  const results = {};
  for (const vocab of VOCABS) {
    const file = path.join(sharedModels, 'vocab', `ggml-vocab-${vocab}.gguf`);
    const ours = { tokenize: [], load: [] };
    const theirs = { tokenize: [], load: [] };
    let tokenCount = 0;
    for (let round = 0; round < rounds; round++) {
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
    const oMbS = mb / (median(tok.ours) / 1000);
    const tMbS = mb / (median(tok.theirs) / 1000);
    const oLoadMs = median(load.ours);
    const tLoadMs = median(load.theirs);
    results[vocab] = {
      text_mb: Number(mb.toFixed(3)),
      disturbed_rounds: tok.dropped + load.dropped,
      tokens: tokenCount,
      tokenize_mb_s: pair(oMbS, tMbS),
      vocab_load_ms: pair(oLoadMs, tLoadMs),
    };
    log(`${vocab}: tokenize ${oMbS.toFixed(2)} vs ${tMbS.toFixed(2)} MB/s, load ${oLoadMs.toFixed(1)} vs ${tLoadMs.toFixed(1)} ms`);
  }
  await llama.dispose();
  return results;
}
