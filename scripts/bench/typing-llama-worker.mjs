// The llama.cpp side of the typing benchmark, in a process of its own: replays the keystroke
// trace in real time against node-llama-cpp (CPU) the way a llama.cpp server with one slot
// serves an editor plugin, prompt cache kept. Usage (from scripts/bench/typing.mjs):
//   node scripts/bench/typing-llama-worker.mjs JOB.json
// JOB.json: { model, threads, nCtx, maxTokens, pattern, deadlineMs, warmup: ids[],
//             requests: [{ t_ms, tokens: ids[] }] }   (one request per keystroke, in order)
// No request is started after deadlineMs (from the replay's start): a backlog that would take
// longer is cut off there, and the parent counts the requests left as unanswered by then.
// pattern:
//   'in-order'       every keystroke's request is served, in arrival order, none cancelled
//                    (the request pattern of the issue: llama.vscode sending one request per
//                    keystroke to llama-server)
//   'one-in-flight'  the running request is never cancelled, but when it ends only the newest
//                    request that arrived meanwhile is served; older waiting ones are dropped
//                    (what llama.vscode's completion.ts does: it waits while a request is in
//                    progress and gives up a waiting call once VS Code cancels it, which it
//                    does at the next keystroke)
// Serving one request: the common prefix of its tokens with the sequence's tokens is kept, the
// rest erased, the new tokens evaluated, then up to maxTokens tokens generated greedily
// (stopping early at an end-of-generation token, as our engine does).
// Prints one JSON line: { served: [{ index, start_ms, end_ms, n_evaluated, n_reused,
// n_generated }], dropped, cut_off_at_ms (null when every request was dealt with), load_ms,
// foreign_cpu, settings } with times relative to the replay's start (keystroke t_ms = 0
// origin), or { error }.
import { readFileSync } from 'node:fs';

import { foreignCores, startCpuMeter } from './cpu-meter.mjs';

const PATTERNS = ['in-order', 'one-in-flight'];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function commonPrefixLength(a, b) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

async function serve(seq, tokens, maxTokens) {
  // At least the last prompt token is evaluated again: its logits pick the first new token.
  const keep = Math.min(commonPrefixLength(seq.contextTokens, tokens), tokens.length - 1);
  if (keep < seq.nextTokenIndex) await seq.eraseContextTokenRanges([{ start: keep, end: seq.nextTokenIndex }]);
  let generated = 0;
  if (maxTokens > 0) {
    for await (const token of seq.evaluate(tokens.slice(keep), { temperature: 0 })) {
      void token;
      if (++generated >= maxTokens) break;
    }
  }
  return { n_evaluated: tokens.length - keep, n_reused: keep, n_generated: generated };
}

/** The index of the next request to serve at `nowMs`, and the ones dropped for it. */
function nextRequest(pattern, requests, next, nowMs) {
  switch (pattern) {
    case 'in-order':
      return { pick: next, dropped: [] };
    case 'one-in-flight': {
      let pick = next;
      while (pick + 1 < requests.length && requests[pick + 1].t_ms <= nowMs) pick++;
      return { pick, dropped: [...Array(pick - next).keys()].map((i) => next + i) };
    }
    default:
      throw new Error(`unknown pattern '${pattern}' (one of ${PATTERNS.join(', ')})`);
  }
}

async function run(job) {
  if (!PATTERNS.includes(job.pattern)) throw new Error(`unknown pattern '${job.pattern}' (one of ${PATTERNS.join(', ')})`);
  const { getLlama } = await import('node-llama-cpp');
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error', maxThreads: job.threads });
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: job.model });
  const context = await model.createContext({ contextSize: job.nCtx, sequences: 1, threads: { ideal: job.threads, min: job.threads } });
  const loadMs = performance.now() - t0;
  const seq = context.getSequence();
  try {
    // Warm-up (page faults of the mapped weights, first-use allocations): an unrelated prompt
    // whose tokens stay in the sequence, as our engine's slot keeps its warm-up prompt.
    await serve(seq, job.warmup, job.maxTokens);
    const served = [];
    const dropped = [];
    const meter = startCpuMeter();
    const start = performance.now();
    const clock = () => performance.now() - start;
    let cutOffAtMs = null;
    for (let next = 0; next < job.requests.length; ) {
      if (clock() > job.deadlineMs) {
        cutOffAtMs = clock();
        break;
      }
      const wait = job.requests[next].t_ms - clock();
      if (wait > 0) await sleep(wait);
      const { pick, dropped: gone } = nextRequest(job.pattern, job.requests, next, clock());
      dropped.push(...gone);
      const startMs = clock();
      const figures = await serve(seq, job.requests[pick].tokens, job.maxTokens);
      served.push({ index: pick, start_ms: startMs, end_ms: clock(), ...figures });
      next = pick + 1;
    }
    return {
      served,
      dropped,
      cut_off_at_ms: cutOffAtMs,
      load_ms: loadMs,
      foreign_cpu: foreignCores(meter),
      settings: { context_size: context.contextSize, batch_size: context.batchSize, flash_attention: context.flashAttention, threads: context.idealThreads },
    };
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
}

let result;
try {
  result = await run(JSON.parse(readFileSync(process.argv[2], 'utf8')));
} catch (e) {
  result = { error: e instanceof Error ? e.message : String(e) };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
