// `npm run bench [-- --json] [--quick] [--threads N] [--only forward|tokenizer|ipc|typing]`: measures our
// engine against llama.cpp (node-llama-cpp, CPU) on the same files, in the same run,
// alternating engines; prints per-engine figures and ratios ours/llama.cpp. Only ratios from
// one run mean anything on a shared machine: a round whose ratio strays more than 25 % from
// the median ratio is counted as disturbed and dropped; figures are medians of the rest.
//
// Figures (keys are stable; later issues add more):
//   pp512, tg128, load_ms, rss_mb (+ rss_after_eval_mb, context_ms)   see bench/worker.mjs
//     on a random-weight model with the exact shapes of Qwen2.5-Coder-0.5B in Q8_0
//     (bench/model.mjs, cached in ~/.cache/alloy-bench/)
//   tokenizer.<vocab>.tokenize_mb_s, .vocab_load_ms                   see bench/tokenizer.mjs
//   ipc.ipc_overhead_ms, ipc.cancel_ms (+ decode_step_ms, ...)        see bench/ipc.mjs
//     through the engine host process (dist/engine-host.js) and the client
//   typing.ours / .llama_cpp: p50_ms, p95_ms, requests_per_keystroke,  see bench/typing.mjs
//     cache_hit_rate, typed_ahead_hit_rate, tokens_evaluated_per_request; typing.ratio_p50,
//     .ratio_p95: a keystroke trace replayed through the completion session and the engine
//     host, and through llama.cpp with llama.vscode's request pattern
// With --json the last stdout line is one JSON object (progress goes to stderr).
//
// Environment: ALLOY_BENCH_ROUNDS (forward rounds, default 3; tokenizer rounds default 5),
// ALLOY_BENCH_THREADS, ALLOY_BENCH_BUDGET_S (forward time budget, default 480),
// ALLOY_BENCH_WORKER_TIMEOUT_S (one engine run, default 240), ALLOY_BENCH_CACHE,
// ALLOY_ADDON_PATH (default build/Release/alloy.node), ALLOY_SHARED_MODELS,
// ALLOY_BENCH_TYPING_BACKLOG_S (llama.cpp's in-order backlog after the typing trace, default 90).
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { benchForward } from './bench/forward.mjs';
import { benchIpc } from './bench/ipc.mjs';
import { ensureBenchModel, modelSummary } from './bench/model.mjs';
import { benchTokenizer } from './bench/tokenizer.mjs';
import { benchTyping } from './bench/typing.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const json = argv.includes('--json');
const quick = argv.includes('--quick');
const log = (...a) => (json ? console.error(...a) : console.log(...a));

function option(name) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

const only = option('--only');
const SECTIONS = ['forward', 'tokenizer', 'ipc', 'typing'];
if (only !== undefined && !SECTIONS.includes(only)) {
  console.error(`bench: --only must be one of ${SECTIONS.join(', ')}; got '${only}'`);
  process.exit(2);
}
const threads = Number(option('--threads') ?? process.env.ALLOY_BENCH_THREADS) || os.availableParallelism();
const envRounds = Number(process.env.ALLOY_BENCH_ROUNDS) || undefined;
const forwardRounds = envRounds ?? (quick ? 1 : 3);
const tokenizerRounds = envRounds ?? (quick ? 2 : 5);
const sharedModels = process.env.ALLOY_SHARED_MODELS ?? path.resolve(root, '..', 'shared', 'models');
const addonPath = process.env.ALLOY_ADDON_PATH ?? path.join(root, 'build', 'Release', 'alloy.node');
const addon = createRequire(import.meta.url)(addonPath);

const runs = (section) => only === undefined || only === section;
const out = { threads, rounds: forwardRounds };
const bench = runs('forward') || runs('ipc') ? ensureBenchModel(addon, path.join(sharedModels, 'vocab', 'ggml-vocab-qwen2.gguf'), log) : null;
if (bench) out.model = modelSummary(bench);
if (runs('forward')) {
  Object.assign(
    out,
    benchForward({
      modelFile: bench.file,
      addonPath,
      threads,
      rounds: forwardRounds,
      budgetMs: (Number(process.env.ALLOY_BENCH_BUDGET_S) || 480) * 1000,
      workerTimeoutMs: (Number(process.env.ALLOY_BENCH_WORKER_TIMEOUT_S) || 240) * 1000,
      log,
    }),
  );
}
if (runs('tokenizer')) {
  out.tokenizer_rounds = tokenizerRounds;
  out.tokenizer = await benchTokenizer({ root, sharedModels, addon, rounds: tokenizerRounds, log });
}

if (runs('ipc')) {
  out.ipc = await benchIpc({
    root,
    addon,
    tinyModel: path.join(sharedModels, 'tiny-qwen2-dscoder-s1-Q8_0.gguf'),
    benchModel: bench.file,
    threads,
    quick,
    log,
  });
}

if (runs('typing')) {
  out.typing = await benchTyping({ root, addon, sharedModels, threads, quick, log });
}

if (json) console.log(JSON.stringify(out));
else console.log(JSON.stringify(out, null, 2));
