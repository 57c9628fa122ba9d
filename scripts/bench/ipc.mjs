// The engine host's cost, measured through the real client and host process:
//   ipc_overhead_ms  median first-token latency of a completion through the host minus the
//                    same request (same tokens, same slot reuse) on the addon directly, on a
//                    tiny model so the engine's own time is small and steady; pairs alternate
//                    which path goes first (target: <= 2 ms).
//   cancel_ms        p95 from AbortSignal.abort() in the client to the generation's result
//                    (the host cancelled it and the engine stopped), aborting at a random
//                    point inside a decode step of the Qwen2.5-Coder-0.5B-shape model;
//                    decode_step_ms is that model's time per generated token in the same run
//                    (target: cancel_ms <= decode_step_ms). engine_cancel_ms_p95 is the
//                    engine's own share (cancel call to stop, from the result's timings).
import path from 'node:path';

import { median, round3 } from './stats.mjs';
import { bundleModules } from './typing-bundle.mjs';

const FIM_PREFIX = 'import os\n\ndef list_python_files(root):\n    """Every .py file under root."""\n    out = []\n    for dirpath, _, names in os.walk(root):\n';
const FIM_SUFFIX = '\n    return sorted(out)\n';
const CONTEXT = 1024;
const MAX_TOKENS = 4;

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

// The client and prompt builder are TypeScript: bundled for this script (not shipped).
function loadClientModules(root) {
  return bundleModules(root, 'engine-client', "export { EngineClient } from './src/engine/client'; export { buildFimPrompt } from './src/engine/fim-prompt';");
}

function directFirstToken(engine, tokens) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = null;
    engine.generate({ slot: 'completion', tokens, maxTokens: MAX_TOKENS }, (event) => {
      if (event.type === 'token' && first === null) first = performance.now() - t0;
      if (event.type === 'done') {
        if (event.stopReason === 'error') reject(new Error(event.error?.message ?? 'generation failed'));
        else resolve({ ms: first ?? performance.now() - t0, nPrompt: event.nPrompt });
      }
    });
  });
}

async function hostFirstToken(client) {
  const t0 = performance.now();
  const stream = client.complete({ prefix: FIM_PREFIX, suffix: FIM_SUFFIX, maxTokens: MAX_TOKENS });
  let first = null;
  const iterator = stream[Symbol.asyncIterator]();
  while (!(await iterator.next()).done) {
    if (first === null) first = performance.now() - t0;
  }
  const result = await stream.result;
  return { ms: first ?? performance.now() - t0, nPrompt: result.nPrompt };
}

async function measureOverhead({ addon, client, buildFimPrompt, model, threads, pairs, log }) {
  await client.loadModel({ path: model, contextSize: CONTEXT, threads });
  const native = await addon.loadModel(model);
  const engine = new addon.Engine(native, { nCtx: CONTEXT, threads });
  try {
    const { tokens } = buildFimPrompt(native, { prefix: FIM_PREFIX, suffix: FIM_SUFFIX, chunks: [] }, CONTEXT - MAX_TOKENS);
    for (let i = 0; i < 3; i++) {
      await directFirstToken(engine, tokens);
      await hostFirstToken(client);
    }
    const host = [];
    const direct = [];
    for (let i = 0; i < pairs; i++) {
      const order = i % 2 === 0 ? ['host', 'direct'] : ['direct', 'host'];
      for (const which of order) {
        const r = which === 'host' ? await hostFirstToken(client) : await directFirstToken(engine, tokens);
        (which === 'host' ? host : direct).push(r);
      }
    }
    if (host.some((r, i) => r.nPrompt !== direct[i].nPrompt)) throw new Error('the host and the direct path evaluated different prompts');
    const hostMs = host.map((r) => r.ms);
    const directMs = direct.map((r) => r.ms);
    log(`bench: ipc: first token through the host ${median(hostMs).toFixed(3)} ms, direct ${median(directMs).toFixed(3)} ms (${pairs} pairs)`);
    return {
      ipc_overhead_ms: round3(median(hostMs) - median(directMs)),
      ipc_first_token_host_ms: round3(median(hostMs)),
      ipc_first_token_direct_ms: round3(median(directMs)),
      ipc_pairs: pairs,
    };
  } finally {
    engine.dispose();
    native.close();
  }
}

async function measureCancel({ client, model, threads, trials, log }) {
  await client.loadModel({ path: model, contextSize: 512, threads });
  const prompt = { prefix: FIM_PREFIX, suffix: FIM_SUFFIX, ignoreEos: true };
  const probe = await client.complete({ ...prompt, maxTokens: 12 }).result;
  const decodeStepMs = (probe.timings.totalMs - probe.timings.firstTokenMs) / Math.max(1, probe.nGenerated - 1);
  const cancelMs = [];
  const engineMs = [];
  for (let i = 0; i < trials; i++) {
    const controller = new AbortController();
    const stream = client.complete({ ...prompt, maxTokens: 200 }, { signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await new Promise((r) => setTimeout(r, Math.random() * decodeStepMs));
    const t0 = performance.now();
    controller.abort();
    const result = await stream.result;
    cancelMs.push(performance.now() - t0);
    engineMs.push(result.timings.cancelLatencyMs);
    await iterator.return?.();
    if (result.stopReason !== 'cancelled') throw new Error(`a cancelled request ended with '${result.stopReason}'`);
  }
  log(`bench: cancel: p95 ${percentile(cancelMs, 95).toFixed(2)} ms (engine ${percentile(engineMs, 95).toFixed(2)} ms), decode step ${decodeStepMs.toFixed(1)} ms`);
  return {
    cancel_ms: round3(percentile(cancelMs, 95)),
    cancel_ms_median: round3(median(cancelMs)),
    engine_cancel_ms_p95: round3(percentile(engineMs, 95)),
    decode_step_ms: round3(decodeStepMs),
    cancel_trials: trials,
  };
}

// options: { root, addon, tinyModel, benchModel, threads, quick, log }
export async function benchIpc(options) {
  const { EngineClient, buildFimPrompt } = await loadClientModules(options.root);
  const client = new EngineClient({ hostScript: path.join(options.root, 'dist', 'engine-host.js'), clientName: 'alloy-bench' });
  const started = performance.now();
  try {
    await client.start();
    const overhead = await measureOverhead({ ...options, client, buildFimPrompt, model: options.tinyModel, pairs: options.quick ? 10 : 40 });
    const cancel = await measureCancel({ ...options, client, model: options.benchModel, trials: options.quick ? 5 : 20 });
    return { ...overhead, ...cancel, ipc_wall_s: round3((performance.now() - started) / 1000) };
  } finally {
    await client.shutdown().catch(() => undefined);
    client.dispose();
  }
}
