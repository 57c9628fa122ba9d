// The forward-pass benchmark of one model: our engine and llama.cpp (node-llama-cpp, CPU)
// alternately on the same model file with the same threads. Every engine run is its own child
// process (scripts/bench/worker.mjs), so resident memory is measured cleanly; rounds
// alternate which engine goes first. Before each engine run the bench waits (up to
// QUIET_WAIT_S) for a window in which other processes use at most FOREIGN_CPU_LIMIT cores.
// A section measured while other processes used more than that is disturbed: it is kept in
// `raw` but not in the figures, and extra rounds (up to twice the requested number) make up
// for it while the time budget allows. Each figure says over how many runs per engine its
// median is taken (`runs`) and how many rounds it discarded (`discarded`). An engine that
// fails is reported with its error (null figures), never with invented numbers, and is not
// run again.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { waitForQuiet } from './cpu-meter.mjs';
import { pairedFigure, round3 } from './stats.mjs';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.mjs');
const ENGINES = ['ours', 'llama_cpp'];
// Each figure, and the worker's timed section whose disturbance it suffers (null: none).
const FIGURES = {
  pp512: 'pp512',
  tg128: 'tg128',
  fim_cold_ms: 'fim_cold',
  fim_reuse_ms: 'fim_reuse',
  load_ms: 'load',
  rss_mb: null,
  rss_after_eval_mb: null,
  context_ms: 'load',
};
const TIMED_SECTIONS = ['pp512', 'tg128', 'fim_cold', 'fim_reuse'];
// Room for pp512, tg128's 64 + 128 tokens and the FIM request's 1024 + 32; the same for both engines.
const N_CTX = 1280;
export const FOREIGN_CPU_LIMIT = Number(process.env.ALLOY_BENCH_FOREIGN_CPU) || 0.05;
export const QUIET_WAIT_S = Number(process.env.ALLOY_BENCH_QUIET_WAIT_S) || 20;

function runWorker(args, timeoutMs) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [WORKER, JSON.stringify(args)], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 16 * 2 ** 20,
  });
  const wallMs = performance.now() - t0;
  if (r.error?.code === 'ETIMEDOUT' || r.signal === 'SIGKILL') {
    return { wallMs, result: { error: `timed out after ${Math.round(timeoutMs / 1000)} s (killed)` } };
  }
  const lines = (r.stdout ?? '').trim().split('\n');
  try {
    return { wallMs, result: JSON.parse(lines[lines.length - 1]) };
  } catch {
    const stderr = (r.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
    return { wallMs, result: { error: `worker exited with ${r.status ?? r.signal} and no result${stderr ? `: ${stderr}` : ''}` } };
  }
}

const isDisturbed = (run, section) => section !== null && (run.foreign_cpu?.[section] ?? 0) > FOREIGN_CPU_LIMIT;
const cleanRun = (run) => TIMED_SECTIONS.every((section) => !isDisturbed(run, section));

function describe(run, wallMs) {
  const f = run.foreign_cpu ?? {};
  const foreign = TIMED_SECTIONS.map((k) => (f[k] == null ? '?' : f[k].toFixed(2))).join('/');
  return `pp512 ${run.pp512.toFixed(1)} t/s, tg128 ${run.tg128.toFixed(1)} t/s, fim ${run.fim_cold_ms.toFixed(0)}/` +
    `${run.fim_reuse_ms.toFixed(0)} ms, load ${run.load_ms.toFixed(0)} ms, rss ${run.rss_mb.toFixed(0)} MiB, ` +
    `other processes ${foreign} cores${cleanRun(run) ? '' : ' (disturbed)'} (${(wallMs / 1000).toFixed(1)} s)`;
}

// Waits for a quiet machine before a measurement; `waits` collects what happened.
export function quietBefore(waits, log, what) {
  const w = waitForQuiet({ limit: FOREIGN_CPU_LIMIT, maxWaitMs: QUIET_WAIT_S * 1000 });
  waits.count++;
  waits.waited_s += w.waited_ms / 1000;
  if (!w.quiet) {
    waits.gave_up++;
    const cores = w.foreign == null ? 'unknown' : `${w.foreign.toFixed(2)} cores`;
    log(`bench: ${what}: no quiet window in ${QUIET_WAIT_S} s (other processes: ${cores}); measuring anyway`);
  }
}

// options: { modelFile, addonPath, threads, rounds, budgetMs, workerTimeoutMs, log }
export function benchForward(options) {
  const { log } = options;
  const started = performance.now();
  const maxRounds = options.rounds * 2;
  const runs = { ours: [], llama_cpp: [] }; // per round: the worker's result, or null
  const errors = {};
  const notes = [];
  let settings = null;
  let round = 0;
  let slowestRoundMs = 0;
  const waits = { count: 0, waited_s: 0, gave_up: 0 };
  const satisfied = () => ENGINES.every((e) => errors[e] || runs[e].filter((r) => r && cleanRun(r)).length >= options.rounds);
  for (; round < maxRounds && !(round >= options.rounds && satisfied()); round++) {
    if (ENGINES.every((e) => errors[e])) break;
    if (round > 0 && performance.now() - started + slowestRoundMs > options.budgetMs) {
      const what = round >= options.rounds ? 'no extra round to replace disturbed runs' : `stopped after ${round} of ${options.rounds} rounds`;
      notes.push(`${what}: another (~${Math.round(slowestRoundMs / 1000)} s) would overrun the ${Math.round(options.budgetMs / 1000)} s budget`);
      break;
    }
    const roundStart = performance.now();
    const order = round % 2 === 0 ? ENGINES : [...ENGINES].reverse();
    for (const engine of order) {
      runs[engine][round] = null;
      if (errors[engine]) continue;
      const remaining = options.budgetMs - (performance.now() - started);
      const timeout = Math.round(Math.max(10_000, Math.min(options.workerTimeoutMs, remaining)));
      const args = { engine, model: options.modelFile, threads: options.threads, nCtx: N_CTX, addonPath: options.addonPath };
      quietBefore(waits, log, `round ${round + 1}: ${engine}`);
      const { wallMs, result } = runWorker(args, timeout);
      if (result.error) {
        errors[engine] = result.error;
        log(`bench: round ${round + 1}: ${engine}: error: ${result.error}`);
        continue;
      }
      if (result.settings) settings = result.settings;
      runs[engine][round] = result;
      log(`bench: round ${round + 1}: ${engine}: ${describe(result, wallMs)}`);
    }
    slowestRoundMs = Math.max(slowestRoundMs, performance.now() - roundStart);
  }
  if (!satisfied()) notes.push(`fewer than ${options.rounds} undisturbed runs per engine: figures use what there is`);

  const out = { rounds: round, rounds_requested: options.rounds };
  const disturbed = new Set();
  const fromDisturbed = [];
  for (const [key, section] of Object.entries(FIGURES)) {
    const entries = (engine) => runs[engine].map((r) => (r ? { value: r[key], disturbed: isDisturbed(r, section) } : null));
    const f = pairedFigure(entries('ours'), entries('llama_cpp'));
    out[key] = { ...f.value, runs: f.kept, discarded: f.droppedRounds.length };
    for (const i of f.droppedRounds) disturbed.add(i);
    if (f.fromDisturbed) fromDisturbed.push(key);
  }
  if (fromDisturbed.length > 0) {
    notes.push(`an engine had no undisturbed run for ${fromDisturbed.join(', ')}: those figures (both engines) include disturbed runs`);
  }
  out.clean_runs = Object.fromEntries(ENGINES.map((e) => [e, runs[e].filter((r) => r && cleanRun(r)).length]));
  out.disturbed_rounds = disturbed.size;
  out.figures_from_disturbed_runs = fromDisturbed;
  out.quiet_wait = { waits: waits.count, waited_s: round3(waits.waited_s), gave_up: waits.gave_up };
  out.errors = errors;
  out.notes = notes;
  out.llama_cpp_settings = settings;
  out.raw = Object.fromEntries(
    ENGINES.map((e) => [
      e,
      runs[e].map((r) => (r ? { ...Object.fromEntries(Object.keys(FIGURES).map((k) => [k, round3(r[k])])), foreign_cpu: roundAll(r.foreign_cpu) } : null)),
    ]),
  );
  out.wall_s = round3((performance.now() - started) / 1000);
  return out;
}

function roundAll(obj) {
  return obj ? Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, v == null ? null : Number(v.toFixed(2))])) : null;
}
