// `npm run bench [-- --json] [--quick] [--models ID,ID] [--threads N] [--only forward|tokenizer|ipc|typing]`:
// measures our engine against llama.cpp (node-llama-cpp, CPU) on the same files, in the same
// run, alternating engines; prints per-engine figures and ratios ours/llama.cpp. Only ratios
// from one run mean anything on a shared machine: the bench waits for a quiet machine before
// each measurement, a section during which other processes used the CPU is discarded (and
// replaced by an extra round while the budget allows), and a round whose ratio strays more
// than 25 % from the median ratio is dropped; figures are medians of the rest.
//
// Figures (keys are stable; later issues add more):
//   models.<id>: one forward benchmark per model (bench/model.mjs; random weights, cached in
//     ~/.cache/alloy-bench/): ids 0.5b-q8_0, 0.5b-q4_0, 0.5b-q4_k_m, 1.5b-q8_0, 1.5b-q4_0,
//     1.5b-q4_k_m (Qwen2.5-Coder-0.5B / -1.5B shapes; q4_k_m is llama.cpp's Q4_K_M mix).
//     The default runs all six, --quick only 0.5b-q8_0, --models a,b the ones named.
//     pp512, tg128, fim_cold_ms, fim_reuse_ms, load_ms, rss_mb   see bench/worker.mjs
//       (+ rss_after_eval_mb, context_ms): each { ours, llama_cpp, ratio, runs: { ours,
//       llama_cpp } (values the median is taken over), discarded (rounds left out) }
//     clean_runs, disturbed_rounds, quiet_wait, figures_from_disturbed_runs   bench/forward.mjs
//     bandwidth { before, after, used_gbs, used, drift }, bytes_read_per_token,
//       bound_tokens_per_s, bandwidth_share (tg128 ours x bytes per token / bandwidth)
//                                                           see bench/bandwidth.mjs
//     metal_dispatches_per_token (+ _per_layer, _target): the Metal dispatch plan of a decoded
//       token                                               see bench/metal-plan.mjs
//   tokenizer.<vocab>.tokenize_mb_s, .vocab_load_ms                   see bench/tokenizer.mjs
//   ipc.ipc_overhead_ms, ipc.cancel_ms (+ decode_step_ms, ...)        see bench/ipc.mjs
//     through the engine host process (dist/engine-host.js) and the client
//   typing.ours / .llama_cpp: p50_ms, p95_ms, requests_per_keystroke,  see bench/typing.mjs
//     cache_hit_rate, typed_ahead_hit_rate, tokens_evaluated_per_request; typing.ratio_p50,
//     .ratio_p95: a keystroke trace replayed through the completion session and the engine
//     host, and through llama.cpp with llama.vscode's request pattern
// With --json the last stdout line is one JSON object (progress goes to stderr).
//
// Environment: ALLOY_BENCH_ROUNDS (clean forward runs per engine and model, default 3;
// tokenizer rounds default 5), ALLOY_BENCH_THREADS, ALLOY_BENCH_BUDGET_S (forward time budget
// per model, default 900), ALLOY_BENCH_WORKER_TIMEOUT_S (one engine run, default 480),
// ALLOY_BENCH_FOREIGN_CPU (cores other processes may use in a clean section, default 0.05),
// ALLOY_BENCH_QUIET_WAIT_S (longest wait for a quiet machine before a measurement, default
// 20), ALLOY_BENCH_BANDWIDTH_MIB (bandwidth probe buffer, default 1024), ALLOY_BENCH_CACHE,
// ALLOY_ADDON_PATH (default build/Release/alloy.node), ALLOY_SHARED_MODELS,
// ALLOY_BENCH_TYPING_BACKLOG_S (llama.cpp's in-order backlog after the typing trace, default 90).
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { bandwidthFigures, measureBandwidth } from './bench/bandwidth.mjs';
import { benchForward, FOREIGN_CPU_LIMIT, QUIET_WAIT_S } from './bench/forward.mjs';
import { benchIpc } from './bench/ipc.mjs';
import { metalPlanFigures } from './bench/metal-plan.mjs';
import { BENCH_MODEL_IDS, DEFAULT_MODEL_ID, ensureBenchModel, modelSummary } from './bench/model.mjs';
import { benchTokenizer } from './bench/tokenizer.mjs';
import { benchTyping } from './bench/typing.mjs';
import { decodeReadBytes } from './bench/weight-bytes.mjs';

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
const modelsOption = option('--models');
const modelIds = modelsOption !== undefined ? modelsOption.split(',').map((m) => m.trim()).filter(Boolean) : quick ? [DEFAULT_MODEL_ID] : BENCH_MODEL_IDS;
const unknownModels = modelIds.filter((m) => !BENCH_MODEL_IDS.includes(m));
if (unknownModels.length > 0 || modelIds.length === 0) {
  console.error(`bench: --models takes a comma-separated list of ${BENCH_MODEL_IDS.join(', ')}; got '${modelsOption}'`);
  process.exit(2);
}
const threads = Number(option('--threads') ?? process.env.ALLOY_BENCH_THREADS) || os.availableParallelism();
const envRounds = Number(process.env.ALLOY_BENCH_ROUNDS) || undefined;
const forwardRounds = envRounds ?? 3;
const tokenizerRounds = envRounds ?? (quick ? 2 : 5);
const sharedModels = process.env.ALLOY_SHARED_MODELS ?? path.resolve(root, '..', 'shared', 'models');
const addonPath = process.env.ALLOY_ADDON_PATH ?? path.join(root, 'build', 'Release', 'alloy.node');
const addon = createRequire(import.meta.url)(addonPath);

const runs = (section) => only === undefined || only === section;
const vocabPath = path.join(sharedModels, 'vocab', 'ggml-vocab-qwen2.gguf');
const out = { threads, rounds: forwardRounds };
if (runs('forward')) {
  out.foreign_cpu_limit = FOREIGN_CPU_LIMIT;
  out.quiet_wait_max_s = QUIET_WAIT_S;
  out.models = {};
  for (const id of modelIds) {
    log(`bench: model ${id}`);
    const bench = ensureBenchModel(addon, vocabPath, log, id);
    const weights = await decodeReadBytes(bench.file);
    const before = measureBandwidth(addon, threads, log, `before ${id}`);
    const forward = benchForward({
      modelFile: bench.file,
      addonPath,
      threads,
      rounds: forwardRounds,
      budgetMs: (Number(process.env.ALLOY_BENCH_BUDGET_S) || 900) * 1000,
      workerTimeoutMs: (Number(process.env.ALLOY_BENCH_WORKER_TIMEOUT_S) || 480) * 1000,
      log,
    });
    const after = measureBandwidth(addon, threads, log, `after ${id}`);
    out.models[id] = {
      model: { ...modelSummary(bench), weight_bytes_by_type: weights.by_type },
      ...forward,
      ...bandwidthFigures(before, after, forward.tg128, weights),
      ...metalPlanFigures(addon, bench.file),
    };
  }
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
    benchModel: ensureBenchModel(addon, vocabPath, log).file,
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
