// One engine, one round of the forward-pass benchmark, in a process of its own so that its
// resident memory is its own. Usage (from scripts/bench/forward.mjs):
//   node scripts/bench/worker.mjs '{"engine":"ours"|"llama_cpp","model":PATH,"threads":N,
//                                   "nCtx":N,"addonPath":PATH}'
// Prints one JSON line: the figures below, or {"error": "..."} when the engine cannot run.
//   load_ms            model load, no context (llama.cpp's includes repacking its weights
//                      for its CPU kernels)
//   context_ms         context creation (KV cache and work buffers)
//   rss_mb             resident memory added by the model load and context creation (MiB)
//   rss_after_eval_mb  the same after the evaluations (mapped weights are resident by then)
//   pp512              prompt tokens/s: 512 tokens in one evaluation, empty context
//   tg128              decode tokens/s: 128 single-token evaluations + greedy picks after a
//                      64-token prompt (the prompt's last token is the first of the 128)
//   fim_cold_ms        a completion request from an empty cache: FIM_PROMPT prompt tokens,
//                      then FIM_GEN greedy tokens; ms from the request to the last token
//   fim_reuse_ms       the same request after an edit near the end: the last
//                      FIM_PROMPT - FIM_KEEP prompt tokens replaced by others, the first
//                      FIM_KEEP kept in the cache (ours: keepPrefix; llama.cpp: the sequence's
//                      eraseContextTokenRanges), FIM_GEN greedy tokens; ms as above
//   foreign_cpu        {load, pp512, tg128, fim_cold, fim_reuse}: cores used by other
//                      processes during each timed section (cpu-meter.mjs); the parent
//                      discards disturbed sections
// Both engines get the same fixed token ids, a warm-up evaluation of WARMUP tokens first
// (page faults of the mapped weights are not in the timings), and the same thread count.
// Generation never stops early: every request yields exactly its token count.
import { createRequire } from 'node:module';

import { foreignCores, startCpuMeter } from './cpu-meter.mjs';

const PP_TOKENS = 512;
const TG_PROMPT = 64;
const TG_TOKENS = 128;
const WARMUP = 16;
const FIM_PROMPT = 1024;
const FIM_KEEP = 1000;
const FIM_GEN = 32;
const MIB = 2 ** 20;

// Fixed pseudo-random token ids below Qwen2.5's first special token (151643).
function fixedTokens(count, seed) {
  const out = [];
  let x = seed >>> 0;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out.push(x % 151643);
  }
  return out;
}

const rss = () => process.memoryUsage().rss;
const now = () => performance.now();

// The FIM request, and the tokens that replace its tail after the edit (the first FIM_KEEP
// tokens stay).
const FIM_REQUEST = fixedTokens(FIM_PROMPT, 4);
const FIM_EDITED_TAIL = fixedTokens(FIM_PROMPT - FIM_KEEP, 5);

// Evaluates `tokens` after what the context holds and picks `count` greedy tokens (the last
// pick is not evaluated). Returns how many were picked.
function generateOurs(ctx, sampler, tokens, count, lastRow) {
  let logits = ctx.eval(Int32Array.from(tokens), false);
  const step = new Int32Array(1);
  for (let picked = 1; ; picked++) {
    step[0] = sampler.sample(lastRow(logits));
    if (picked >= count) return picked;
    logits = ctx.eval(step, false);
  }
}

async function generateLlama(seq, tokens, count) {
  let picked = 0;
  for await (const token of seq.evaluate(tokens, { temperature: 0 })) {
    void token;
    if (++picked >= count) break;
  }
  return picked;
}

async function runOurs(args) {
  const addon = createRequire(import.meta.url)(args.addonPath);
  for (const name of ['Context', 'Sampler']) {
    if (typeof addon[name] !== 'function') throw new Error(`alloy.node has no ${name} class (the forward pass is not built into the addon yet)`);
  }
  const base = rss();
  const foreign = {};
  let meter = startCpuMeter();
  let t0 = now();
  const model = new addon.Model(args.model);
  const loadMs = now() - t0;
  const nVocab = model.info().n_vocab;
  t0 = now();
  const ctx = new addon.Context(model, { nCtx: args.nCtx, threads: args.threads, kvType: 'f16' });
  const contextMs = now() - t0;
  foreign.load = foreignCores(meter);
  const rssLoaded = rss();
  const lastRow = (logits) => logits.subarray(logits.length - nVocab);
  try {
    ctx.eval(Int32Array.from(fixedTokens(WARMUP, 3)), false);
    ctx.keepPrefix(0);

    const pp = Int32Array.from(fixedTokens(PP_TOKENS, 1));
    meter = startCpuMeter();
    t0 = now();
    ctx.eval(pp, false);
    const ppMs = now() - t0;
    foreign.pp512 = foreignCores(meter);
    ctx.keepPrefix(0);

    const prompt = fixedTokens(TG_PROMPT, 2);
    ctx.eval(Int32Array.from(prompt.slice(0, -1)), false);
    const sampler = new addon.Sampler({ temp: 0 });
    const step = new Int32Array(1);
    step[0] = prompt[prompt.length - 1];
    meter = startCpuMeter();
    t0 = now();
    for (let i = 0; i < TG_TOKENS; i++) step[0] = sampler.sample(lastRow(ctx.eval(step, false)));
    const tgMs = now() - t0;
    foreign.tg128 = foreignCores(meter);

    ctx.keepPrefix(0);
    meter = startCpuMeter();
    t0 = now();
    const coldTokens = generateOurs(ctx, sampler, FIM_REQUEST, FIM_GEN, lastRow);
    const fimColdMs = now() - t0;
    foreign.fim_cold = foreignCores(meter);
    meter = startCpuMeter();
    t0 = now();
    ctx.keepPrefix(FIM_KEEP);
    if (ctx.nPast !== FIM_KEEP) throw new Error(`keepPrefix(${FIM_KEEP}) left ${ctx.nPast} positions`);
    const reuseTokens = generateOurs(ctx, sampler, FIM_EDITED_TAIL, FIM_GEN, lastRow);
    const fimReuseMs = now() - t0;
    foreign.fim_reuse = foreignCores(meter);
    const fim = { coldMs: fimColdMs, coldTokens, reuseMs: fimReuseMs, reuseTokens };
    return figures(loadMs, contextMs, base, rssLoaded, ppMs, tgMs, TG_TOKENS, fim, foreign);
  } finally {
    ctx.dispose();
    model.close();
  }
}

async function runLlamaCpp(args) {
  const { getLlama } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: args.threads });
  const base = rss();
  const foreign = {};
  let meter = startCpuMeter();
  let t0 = now();
  const model = await llama.loadModel({ modelPath: args.model });
  const loadMs = now() - t0;
  t0 = now();
  const context = await model.createContext({
    contextSize: args.nCtx,
    batchSize: PP_TOKENS,
    sequences: 1,
    threads: { ideal: args.threads, min: args.threads },
  });
  const contextMs = now() - t0;
  foreign.load = foreignCores(meter);
  const rssLoaded = rss();
  const seq = context.getSequence();
  try {
    await seq.evaluateWithoutGeneratingNewTokens(fixedTokens(WARMUP, 3));
    await seq.clearHistory();

    const pp = fixedTokens(PP_TOKENS, 1);
    meter = startCpuMeter();
    t0 = now();
    await seq.evaluateWithoutGeneratingNewTokens(pp);
    const ppMs = now() - t0;
    foreign.pp512 = foreignCores(meter);
    await seq.clearHistory();

    const prompt = fixedTokens(TG_PROMPT, 2);
    await seq.evaluateWithoutGeneratingNewTokens(prompt.slice(0, -1));
    let generated = 0;
    meter = startCpuMeter();
    t0 = now();
    for await (const token of seq.evaluate(prompt.slice(-1), { temperature: 0 })) {
      void token;
      if (++generated >= TG_TOKENS) break;
    }
    const tgMs = now() - t0;
    foreign.tg128 = foreignCores(meter);

    await seq.clearHistory();
    meter = startCpuMeter();
    t0 = now();
    const coldTokens = await generateLlama(seq, FIM_REQUEST, FIM_GEN);
    const fimColdMs = now() - t0;
    foreign.fim_cold = foreignCores(meter);
    meter = startCpuMeter();
    t0 = now();
    await seq.eraseContextTokenRanges([{ start: FIM_KEEP, end: seq.nextTokenIndex }]);
    if (seq.nextTokenIndex !== FIM_KEEP) throw new Error(`erasing after ${FIM_KEEP} tokens left ${seq.nextTokenIndex}`);
    const reuseTokens = await generateLlama(seq, FIM_EDITED_TAIL, FIM_GEN);
    const fimReuseMs = now() - t0;
    foreign.fim_reuse = foreignCores(meter);
    const fim = { coldMs: fimColdMs, coldTokens, reuseMs: fimReuseMs, reuseTokens };
    const out = figures(loadMs, contextMs, base, rssLoaded, ppMs, tgMs, generated, fim, foreign);
    out.settings = { context_size: context.contextSize, batch_size: context.batchSize, flash_attention: context.flashAttention, threads: context.idealThreads };
    return out;
  } finally {
    await context.dispose();
    await model.dispose();
  }
}

function figures(loadMs, contextMs, base, rssLoaded, ppMs, tgMs, tgTokens, fim, foreign) {
  if (tgTokens !== TG_TOKENS) throw new Error(`decode stopped after ${tgTokens} of ${TG_TOKENS} tokens`);
  for (const n of [fim.coldTokens, fim.reuseTokens]) {
    if (n !== FIM_GEN) throw new Error(`a FIM request stopped after ${n} of ${FIM_GEN} tokens`);
  }
  return {
    load_ms: loadMs,
    context_ms: contextMs,
    rss_mb: (rssLoaded - base) / MIB,
    rss_after_eval_mb: (rss() - base) / MIB,
    pp512: PP_TOKENS / (ppMs / 1000),
    tg128: TG_TOKENS / (tgMs / 1000),
    fim_cold_ms: fim.coldMs,
    fim_reuse_ms: fim.reuseMs,
    foreign_cpu: foreign,
  };
}

const args = JSON.parse(process.argv[2] ?? '{}');
let result;
try {
  if (args.engine === 'ours') result = await runOurs(args);
  else if (args.engine === 'llama_cpp') result = await runLlamaCpp(args);
  else throw new Error(`unknown engine '${args.engine}'`);
} catch (e) {
  result = { error: e instanceof Error ? e.message : String(e), ...(e?.kind ? { kind: e.kind } : {}) };
}
process.stdout.write(`${JSON.stringify({ engine: args.engine, ...result })}\n`);
