// Our side of the typing benchmark: the keystroke trace replayed in real time through the
// completion session (src/extension/completion/completion-session.ts) and the real engine host
// (dist/engine-host.js via EngineClient and ClientCompletionEngine), as the inline provider
// (src/extension/inline-provider.ts) drives it in VS Code: at each keystroke the previous
// suggest() call's signal is aborted and suggest() is called for the new document; a non-null
// suggestion that arrives before the next keystroke is "shown" (session.shown()).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { EditorSimulation } from './typing-editor.mjs';

const USER_HZ = 100;
/** How long the last keystroke's answer is awaited after the trace ends. */
const LAST_ANSWER_TIMEOUT_MS = 60_000;

function procStatFields(file) {
  const text = readFileSync(file, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
}

// CPU seconds of this process and its direct children (the engine host): /proc, Linux only.
function treeCpuSeconds() {
  const own = process.cpuUsage();
  let children = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = procStatFields(`/proc/${entry}/stat`);
      if (Number(f[1]) === process.pid) children += (Number(f[11]) + Number(f[12])) / USER_HZ; // ppid, utime, stime
    } catch {
      // the process ended while being read
    }
  }
  return (own.user + own.system) / 1e6 + children;
}

// DEBT: the same /proc/stat reading as cpu-meter.mjs, which counts only its own process (the
// engine host is a child here); a process-tree option in cpu-meter.mjs removes this copy.
function machineBusySeconds() {
  const [user, nice, system, , , irq, softirq, steal = 0] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) / USER_HZ;
}

/** Cores used by processes outside this process tree while `fn` ran (null off Linux). */
async function withForeignCpu(fn) {
  let start = null;
  try {
    start = { busy: machineBusySeconds(), tree: treeCpuSeconds(), wall: performance.now() };
  } catch {
    start = null;
  }
  const result = await fn();
  if (start === null) return { result, foreignCpu: null };
  const wallS = (performance.now() - start.wall) / 1000;
  const foreign = (machineBusySeconds() - start.busy - (treeCpuSeconds() - start.tree)) / wallS;
  return { result, foreignCpu: Math.max(0, foreign) };
}

const sleepUntil = (t) => new Promise((resolve) => setTimeout(resolve, Math.max(0, t - performance.now())));

async function replay({ trace, session, editor, log }) {
  const n = trace.keystrokes.length;
  const answers = new Array(n).fill(null);
  const errors = [];
  const calls = [];
  let lagMaxMs = 0;
  let controller = null;
  const start = performance.now();
  for (let k = 0; k < n; k++) {
    const due = start + trace.keystrokes[k].t_ms;
    await sleepUntil(due);
    lagMaxMs = Math.max(lagMaxMs, performance.now() - due);
    controller?.abort();
    const ctx = editor.type(k);
    const signal = (controller = new AbortController()).signal;
    calls[k] = session.suggest(ctx, signal).then(
      (suggestion) => {
        if (signal.aborted) return; // the next keystroke came first: no answer for this state
        answers[k] = { ms: performance.now() - start, suggestion: suggestion !== null, source: suggestion?.source ?? null };
        if (suggestion) session.shown(ctx, suggestion);
      },
      (error) => errors.push(`keystroke ${k}: ${error?.kind ?? 'error'}: ${error?.message ?? error}`),
    );
  }
  const last = calls[n - 1];
  const timedOut = await Promise.race([last.then(() => false), new Promise((r) => setTimeout(() => r(true), LAST_ANSWER_TIMEOUT_MS).unref())]);
  if (timedOut) errors.push(`the last keystroke got no answer within ${LAST_ANSWER_TIMEOUT_MS / 1000} s`);
  controller?.abort();
  await Promise.allSettled(calls);
  if (errors.length > 0) log(`bench: typing: ours: ${errors.length} errors, first: ${errors[0]}`);
  return { answers, errors, lagMaxMs, wallMs: performance.now() - start };
}

// options: { root, modules, trace, modelFile, threads, contextSize, sessionOptions, window,
//            ringOptions, warmup: CompleteRequest, log }
export async function replayOurs(options) {
  const { modules } = options;
  const client = new modules.EngineClient({ hostScript: path.join(options.root, 'dist', 'engine-host.js'), clientName: 'alloy-bench-typing' });
  try {
    await client.start();
    const t0 = performance.now();
    const info = await client.loadModel({ path: options.modelFile, contextSize: options.contextSize, threads: options.threads });
    const loadMs = performance.now() - t0;
    if (info.contextSize !== options.contextSize) throw new Error(`the engine loaded the model with context ${info.contextSize}, not ${options.contextSize}`);
    await client.complete(options.warmup).result;
    const ring = new modules.ContextRing(options.ringOptions);
    const session = new modules.CompletionSession(new modules.ClientCompletionEngine(client), options.sessionOptions, ring);
    const editor = new EditorSimulation(options.trace, { modules, window: options.window, ring });
    const { result, foreignCpu } = await withForeignCpu(() => replay({ ...options, session, editor }));
    return { ...result, stats: session.stats, loadMs, foreignCpu };
  } finally {
    await client.shutdown().catch(() => undefined);
    client.dispose();
  }
}
