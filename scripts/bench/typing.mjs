// The typing benchmark: a keystroke trace of code being written (typing-trace/trace.mjs,
// synthesized, generated at run time from a fixed seed) replayed in real time
//   ours       through the completion session and the real engine host (typing-ours.mjs)
//   llama_cpp  against node-llama-cpp with llama.vscode's request pattern as the issue states
//              it: one request per keystroke, served in order, no cancellation, prompt cache
//              kept (typing-llama-worker.mjs, pattern 'in-order')
//   llama_cpp_one_in_flight  the same server, but as llama.vscode's code actually behaves: the
//              running request is never cancelled, a waiting one is dropped at the next
//              keystroke (pattern 'one-in-flight'); for context, not the target's baseline
// on the Qwen2.5-Coder-0.5B-shaped random model, generation capped at MAX_TOKENS, the same
// threads, one side at a time. The model is bench/model.mjs's shape with the Qwen2.5 vocab
// (FIM and repo-level tokens, as the real Qwen2.5-Coder has; the plain qwen2 vocab file of the
// forward bench has none, which would make every request prefix-only), taken from the shared
// tiny model that carries it, and cached next to the forward bench's model.
// Every llama.cpp request carries exactly the prompt tokens our host would evaluate for that
// keystroke (the session's request: cursor context, context-ring chunks, through the host's own
// completionPrompt). In order, llama.cpp's backlog can outgrow any budget: no request is
// started later than the backlog budget after the trace's last keystroke (90 s, --quick 30 s,
// or ALLOY_BENCH_TYPING_BACKLOG_S); keystrokes left unanswered then count with a lower bound
// of their latency (typing-figures.mjs).
// Figures (typing-figures.mjs has the exact latency definition): per side p50_ms, p95_ms,
// requests_per_keystroke (engine requests / keystrokes, speculative ones included),
// cache_hit_rate and typed_ahead_hit_rate (hits / suggest() calls, one call per keystroke),
// tokens_evaluated_per_request (prompt tokens evaluated after prefix reuse / engine
// requests); ratio_p50, ratio_p95 = ours / llama_cpp.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureBenchModel } from './model.mjs';
import { round3 } from './stats.mjs';
import { loadTypingModules } from './typing-bundle.mjs';
import { EditorSimulation } from './typing-editor.mjs';
import { countedKeystrokes, LOOKING_GAP_MS, latencies, latencySummary, percentile, ratio } from './typing-figures.mjs';
import { replayOurs } from './typing-ours.mjs';
import { describeTrace, gapsAfter, generateTrace } from './typing-trace/trace.mjs';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'typing-llama-worker.mjs');
/** Random-weight models do not end lines: every suggestion is capped here (the issue's cap). */
const MAX_TOKENS = 16;
/** What the host picks for this model when the contextSize setting is 0 (its default). */
const CONTEXT_SIZE = 4096;
/** Both engines evaluate this once before the replay (page faults, first-use allocations). */
const WARMUP = { prefix: 'def greet(name):\n    ', suffix: '\n', chunks: [], filePath: 'warmup.py', maxTokens: MAX_TOKENS };
const DISTURBED_FOREIGN_CPU = 0.1;
/** A model file of the shared test models whose vocab is Qwen2.5's, FIM tokens included. */
const QWEN25_VOCAB_SOURCE = 'tiny-qwen2-e64-qwen25vocab-tied-s1-Q8_0.gguf';
const BACKLOG_BUDGET_S = Number(process.env.ALLOY_BENCH_TYPING_BACKLOG_S) || undefined;

/** The extension's defaults (session-defaults.ts), generation capped at MAX_TOKENS. */
function sessionSetup(modules) {
  const settings = modules.parseSettings(() => undefined).settings;
  const c = settings.completions;
  return {
    sessionOptions: { ...modules.sessionOptions(settings), maxTokens: MAX_TOKENS },
    window: { prefixLines: c.prefixLines, suffixLines: c.suffixLines },
  };
}

/** Per keystroke, the prompt tokens of the engine request our session would make there. */
function llamaRequests({ modules, addon, modelFile, trace, window, extraContextChars }) {
  const model = new addon.Model(modelFile);
  try {
    const prompt = (request) => Array.from(modules.completionPrompt(model, CONTEXT_SIZE, request));
    const editor = new EditorSimulation(trace, { modules, window, ring: new modules.ContextRing(modules.RING_OPTIONS) });
    const requests = trace.keystrokes.map((key, k) => {
      const ctx = editor.type(k);
      const request = { prefix: ctx.prefix, suffix: ctx.suffix, chunks: editor.chunksFor(ctx, extraContextChars), filePath: ctx.filePath, maxTokens: MAX_TOKENS };
      return { t_ms: key.t_ms, tokens: prompt(request) };
    });
    return { requests, warmup: prompt(WARMUP) };
  } finally {
    model.close();
  }
}

function runLlama(job, timeoutMs) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alloy-bench-typing-'));
  const file = path.join(dir, 'job.json');
  try {
    writeFileSync(file, JSON.stringify(job));
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [WORKER, file], { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 2 ** 20 });
    const wallMs = performance.now() - t0;
    if (r.error?.code === 'ETIMEDOUT' || r.signal === 'SIGKILL') return { error: `timed out after ${Math.round(timeoutMs / 1000)} s (killed)`, wallMs };
    const lines = (r.stdout ?? '').trim().split('\n');
    try {
      return { ...JSON.parse(lines[lines.length - 1]), wallMs };
    } catch {
      const stderr = (r.stderr ?? '').trim().split('\n').slice(-3).join(' | ');
      return { error: `worker exited with ${r.status ?? r.signal} and no result${stderr ? `: ${stderr}` : ''}`, wallMs };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const per = (count, total) => (total > 0 ? round3(count / total) : null);

function oursFigures(trace, counted, ours) {
  if (ours.error) return { error: ours.error };
  const s = ours.stats;
  const n = trace.keystrokes.length;
  return {
    ...latencySummary(latencies(trace, ours.answers, counted)),
    requests_per_keystroke: per(s.engineRequests, n),
    cache_hit_rate: per(s.cacheHits, s.requests),
    typed_ahead_hit_rate: per(s.typedAheadHits, s.requests),
    speculative_hit_rate: per(s.speculativeHits, s.requests),
    tokens_evaluated_per_request: per(s.tokensEvaluated, s.engineRequests),
    engine_requests: s.engineRequests,
    speculative_requests: s.speculativeRequests,
    cancelled_requests: s.cancelled,
    suggestions_returned: ours.answers.filter((a) => a?.suggestion).length,
    empty_answers: ours.answers.filter((a) => a && !a.suggestion).length,
    errors: ours.errors.length,
    first_error: ours.errors[0] ?? null,
    keystroke_lag_max_ms: round3(ours.lagMaxMs),
    load_ms: round3(ours.loadMs),
    foreign_cpu: ours.foreignCpu === null ? null : round3(ours.foreignCpu),
    wall_s: round3(ours.wallMs / 1000),
  };
}

function llamaFigures(trace, counted, run, pattern) {
  if (run.error) return { pattern, error: run.error };
  const answers = new Array(trace.keystrokes.length).fill(null);
  for (const s of run.served) answers[s.index] = { ms: s.end_ms };
  const served = run.served.length;
  // Requests the editor sent: those served, and those still queued at the cut-off (in order);
  // requests dropped before they reached the server (one in flight) were never sent.
  const unserved = trace.keystrokes.length - served - run.dropped.length;
  const sum = (key) => run.served.reduce((total, s) => total + s[key], 0);
  return {
    pattern,
    ...latencySummary(latencies(trace, answers, counted, run.cut_off_at_ms)),
    requests_per_keystroke: per(served + unserved, trace.keystrokes.length),
    cache_hit_rate: 0,
    typed_ahead_hit_rate: 0,
    tokens_evaluated_per_request: per(sum('n_evaluated'), served), // over the requests served
    tokens_generated_per_request: per(sum('n_generated'), served),
    request_ms_p50: round3(percentile(run.served.map((s) => s.end_ms - s.start_ms), 50)),
    dropped_requests: run.dropped.length,
    cut_off_at_s: run.cut_off_at_ms === null ? null : round3(run.cut_off_at_ms / 1000),
    served_requests: served,
    unserved_requests: unserved,
    load_ms: round3(run.load_ms),
    foreign_cpu: run.foreign_cpu === null ? null : round3(run.foreign_cpu),
    wall_s: round3(run.wallMs / 1000),
    settings: run.settings,
  };
}

function notes(out) {
  const sides = { ours: out.ours, llama_cpp: out.llama_cpp, llama_cpp_one_in_flight: out.llama_cpp_one_in_flight };
  const list = [];
  const disturbed = Object.keys(sides).filter((name) => (sides[name].foreign_cpu ?? 0) > DISTURBED_FOREIGN_CPU);
  if (disturbed.length > 0) list.push(`other processes used more than ${DISTURBED_FOREIGN_CPU} cores during the ${disturbed.join(', ')} replay (foreign_cpu): those figures are disturbed`);
  for (const [name, side] of Object.entries(sides)) {
    if (side.error) list.push(`${name} failed: ${side.error}`);
    if (side.lower_bounds > 0) {
      list.push(`${name} was cut off ${side.cut_off_at_s} s into the replay with its backlog unserved: ${side.lower_bounds} counted keystrokes use the time to the cut-off, a lower bound, so ratios against it are upper bounds`);
    }
    if (side.never_answered > 0) list.push(`${name} never answered ${side.never_answered} counted keystrokes: they sort last, and a percentile that lands on one is null`);
  }
  if (out.ours.errors > 0) list.push(`ours: ${out.ours.errors} suggest() calls failed, first: ${out.ours.first_error}`);
  if (out.ours.cancelled_requests > out.ours.engine_requests / 2) {
    list.push(`ours: ${out.ours.cancelled_requests} of ${out.ours.engine_requests} engine requests were cancelled; tokens_evaluated_per_request counts only the prompt the engine finished evaluating`);
  }
  return list;
}

// options: { root, addon, sharedModels, threads, quick, log }
export async function benchTyping({ root, addon, sharedModels, threads, quick, log }) {
  const started = performance.now();
  const benchModel = ensureBenchModel(addon, path.join(sharedModels, QWEN25_VOCAB_SOURCE), log).file;
  const modules = await loadTypingModules(root);
  const trace = generateTrace({ quick });
  const { sessionOptions, window } = sessionSetup(modules);
  const traceSummary = describeTrace(trace, LOOKING_GAP_MS);
  log(`bench: typing: ${traceSummary.keystrokes} keystrokes over ${traceSummary.duration_s} s in ${trace.files.length} files (trace ${trace.digest})`);

  let ours;
  try {
    ours = await replayOurs({ root, modules, trace, modelFile: benchModel, threads, contextSize: CONTEXT_SIZE, sessionOptions, window, ringOptions: modules.RING_OPTIONS, warmup: WARMUP, log });
    const s = ours.stats;
    log(`bench: typing: ours: ${s.engineRequests} engine requests, ${s.cacheHits} cache / ${s.typedAheadHits} typed-ahead / ${s.speculativeHits} speculative hits (${(ours.wallMs / 1000).toFixed(1)} s)`);
  } catch (e) {
    ours = { error: `${e?.kind ? `${e.kind}: ` : ''}${e instanceof Error ? e.message : String(e)}`, answers: [] };
    log(`bench: typing: ours: error: ${ours.error}`);
  }

  const { requests, warmup } = llamaRequests({ modules, addon, modelFile: benchModel, trace, window, extraContextChars: sessionOptions.extraContextChars });
  const deadlineMs = trace.duration_ms + (BACKLOG_BUDGET_S ?? (quick ? 30 : 90)) * 1000;
  const timeoutMs = deadlineMs + 180_000; // the last request started, model load, warm-up
  const job = { model: benchModel, threads, nCtx: CONTEXT_SIZE, maxTokens: MAX_TOKENS, deadlineMs, warmup, requests };
  const runs = {};
  for (const pattern of ['in-order', 'one-in-flight']) {
    runs[pattern] = runLlama({ ...job, pattern }, timeoutMs);
    const r = runs[pattern];
    log(`bench: typing: llama.cpp ${pattern}: ${r.error ? `error: ${r.error}` : `${r.served.length} requests served, ${r.dropped.length} dropped`} (${(r.wallMs / 1000).toFixed(1)} s)`);
  }

  const counted = countedKeystrokes(gapsAfter(trace), ours.answers);
  const out = {
    trace: traceSummary,
    looking_gap_ms: LOOKING_GAP_MS,
    counted_keystrokes: counted.length,
    ours: oursFigures(trace, counted, ours),
    llama_cpp: llamaFigures(trace, counted, runs['in-order'], 'in-order'),
    llama_cpp_one_in_flight: llamaFigures(trace, counted, runs['one-in-flight'], 'one-in-flight'),
  };
  out.ratio_p50 = ratio(out.ours.p50_ms ?? null, out.llama_cpp.p50_ms ?? null);
  out.ratio_p95 = ratio(out.ours.p95_ms ?? null, out.llama_cpp.p95_ms ?? null);
  out.ratio_p50_one_in_flight = ratio(out.ours.p50_ms ?? null, out.llama_cpp_one_in_flight.p50_ms ?? null);
  out.ratio_p95_one_in_flight = ratio(out.ours.p95_ms ?? null, out.llama_cpp_one_in_flight.p95_ms ?? null);
  out.notes = notes(out);
  out.settings = { model: benchModel, vocab_from: QWEN25_VOCAB_SOURCE, max_tokens: MAX_TOKENS, threads, context_size: CONTEXT_SIZE, llama_cpp_deadline_s: round3(deadlineMs / 1000), session: sessionOptions, window, ring: modules.RING_OPTIONS };
  out.wall_s = round3((performance.now() - started) / 1000);
  log(`bench: typing: p50 ${out.ours.p50_ms} vs ${out.llama_cpp.p50_ms} ms, p95 ${out.ours.p95_ms} vs ${out.llama_cpp.p95_ms} ms (ratios ${out.ratio_p50}, ${out.ratio_p95})`);
  return out;
}
