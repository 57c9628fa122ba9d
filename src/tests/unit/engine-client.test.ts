// EngineClient against the real engine host process (dist/engine-host.js + alloy.node):
// start-up and version check, typed errors, streams, abort, and crash recovery (kill -9 →
// engine_crashed, restart with backoff, model reloaded; repeated crashes → failed).
import { afterEach, describe, expect, it } from 'vitest';

import { EngineClient, EngineError, type EngineClientOptions, type EngineState, type TokenChunk } from '../../engine/client';
import { PROTOCOL_VERSION } from '../../engine/protocol';
import { FIM_MODEL, notGguf, slowModelPath, STORIES_MODEL, TEST_THREADS } from '../helpers/engine-models';
import { engineHostPath, makeTempDir } from '../helpers/paths';

const GREEDY = { temp: 0 };
const clients: EngineClient[] = [];

function makeClient(options: Partial<EngineClientOptions> = {}): { client: EngineClient; states: EngineState[] } {
  const states: EngineState[] = [];
  const client = new EngineClient({ hostScript: engineHostPath, clientName: 'engine-client.test', onStateChange: (s) => states.push(s), ...options });
  clients.push(client);
  return { client, states };
}

async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterEach(() => {
  for (const c of clients.splice(0)) c.dispose();
});

describe('EngineClient: lifecycle', () => {
  it('start() spawns the host, checks the protocol version and reports the engine', async () => {
    const { client, states } = makeClient();
    const init = await client.start();
    expect(init.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(init.engineVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(init.pid).not.toBe(process.pid);
    expect(states).toEqual(['starting', 'ready']);
    expect(client.logTail().some((l) => l.includes('initialized by engine-client.test'))).toBe(true);
  });

  it('a host that cannot load the addon fails the start with addon_missing; requests then fail fast', async () => {
    const { client } = makeClient({ env: { ALLOY_ADDON_PATH: '/nonexistent/alloy.node' } });
    await expect(client.start()).rejects.toMatchObject({ kind: 'addon_missing' });
    expect(client.state).toBe('failed');
    expect(client.lastError?.kind).toBe('addon_missing');
    await expect(client.stats()).rejects.toMatchObject({ kind: 'engine_failed', message: expect.stringContaining('addon_missing') as unknown });
  });

  it('errors answered by the host are EngineErrors with the host kind', async () => {
    const { client } = makeClient();
    const dir = makeTempDir('engine-client');
    await expect(client.loadModel({ path: dir })).rejects.toBeInstanceOf(EngineError);
    await expect(client.loadModel({ path: dir })).rejects.toMatchObject({ kind: 'not_a_file' });
    await expect(client.loadModel({ path: notGguf(dir) })).rejects.toMatchObject({ kind: 'bad_magic' });
    await expect(client.modelInfo()).rejects.toMatchObject({ kind: 'no_model' });
    await expect(client.complete({ prefix: 'a', suffix: '', maxTokens: 4 }).result).rejects.toMatchObject({ kind: 'no_model' });
    expect(client.state).toBe('ready');
  });

  it('shutdown ends the host; the next request starts a new one', async () => {
    const { client } = makeClient();
    const first = await client.start();
    await client.shutdown();
    expect(client.state).toBe('stopped');
    expect(() => process.kill(first.pid, 0)).toThrow();
    expect(client.logTail().some((l) => l.includes('SIGTERM') || l.includes('SIGKILL'))).toBe(false);
    const stats = await client.stats();
    expect(stats.pid).not.toBe(first.pid);
  });

  it('an executable that cannot start counts as crashes and ends failed, with the reason', async () => {
    const { client } = makeClient({ execPath: '/nonexistent/node', restartDelaysMs: [1] });
    const error = await client.start().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'engine_crashed', message: expect.stringContaining('ENOENT') as unknown });
    expect(client.state).toBe('failed');
  });

  it('dispose rejects what is pending with engine_stopped', async () => {
    const { client } = makeClient();
    const pending = client.start();
    client.dispose();
    await expect(pending).rejects.toMatchObject({ kind: 'engine_stopped' });
    await expect(client.stats()).rejects.toMatchObject({ kind: 'engine_stopped' });
  });

  it('restarts a killed host with backoff, gives up after 3 crashes in the window, and restart() recovers', async () => {
    const { client, states } = makeClient({ restartDelaysMs: [20, 40, 80] });
    let pid = (await client.start()).pid;
    for (let crash = 1; crash <= 3; crash++) {
      process.kill(pid, 'SIGKILL');
      if (crash < 3) {
        await until('the restart', () => client.state === 'ready' && client.engineInfo?.pid !== pid);
        pid = (await client.stats()).pid;
      }
    }
    await until('the failed state', () => client.state === 'failed');
    expect(states.filter((s) => s === 'restarting')).toHaveLength(2);
    expect(client.lastError?.kind).toBe('engine_crashed');
    expect(client.lastError?.message).toMatch(/3 times/);
    expect(client.logTail().some((l) => l.includes('SIGKILL'))).toBe(true);
    await expect(client.stats()).rejects.toMatchObject({ kind: 'engine_failed' });
    const fresh = await client.restart();
    expect(fresh.pid).not.toBe(pid);
    expect(client.state).toBe('ready');
    expect((await client.stats()).pid).toBe(fresh.pid);
  });
});

describe('EngineClient: models and generation', () => {
  it('loadModel reports progress and the loading state; modelInfo answers after', async () => {
    const { client, states } = makeClient();
    const fractions: number[] = [];
    const info = await client.loadModel({ path: FIM_MODEL, threads: TEST_THREADS }, { onProgress: (p) => fractions.push(p.fraction) });
    expect(states).toContain('loading');
    expect(client.state).toBe('ready');
    expect(fractions.length).toBeGreaterThan(0);
    expect(info.fim).not.toBeNull();
    expect(await client.modelInfo()).toEqual(info);
    expect((await client.tokenize({ text: 'def f():' })).tokens.length).toBeGreaterThan(2);
  });

  it('a refused load keeps the loaded model, which a restart reloads', async () => {
    const { client } = makeClient({ restartDelaysMs: [1] });
    await client.loadModel({ path: STORIES_MODEL, threads: TEST_THREADS });
    await expect(client.loadModel({ path: makeTempDir('engine-client') })).rejects.toMatchObject({ kind: 'not_a_file' });
    process.kill((await client.stats()).pid, 'SIGKILL');
    await until('the restart', () => client.state === 'restarting');
    expect((await client.modelInfo()).path).toBe(STORIES_MODEL);
    await expect(client.loadModel({ path: notGguf(makeTempDir('engine-client')) })).rejects.toMatchObject({ kind: 'bad_magic' });
    await expect(client.modelInfo()).rejects.toMatchObject({ kind: 'no_model' });
  });

  it('a slow consumer of the stream loses no chunk; the chunks add up to the result', async () => {
    const { client } = makeClient();
    await client.loadModel({ path: STORIES_MODEL, threads: TEST_THREADS });
    const stream = client.complete({ prefix: 'Once upon a time', suffix: '', maxTokens: 40, sampling: GREEDY, ignoreEos: true });
    const chunks: TokenChunk[] = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      await new Promise((r) => setTimeout(r, 5));
    }
    const result = await stream.result;
    expect(result.stopReason).toBe('max_tokens');
    expect(chunks.flatMap((c) => c.ids)).toHaveLength(40);
    expect(chunks.map((c) => c.text).join('')).toBe(result.text);
    expect(result.text).toContain('Lily');
  });

  it('aborting the signal cancels: the result resolves with stopReason cancelled', async () => {
    const { client } = makeClient();
    await client.loadModel({ path: slowModelPath(), contextSize: 4096, threads: TEST_THREADS });
    const controller = new AbortController();
    const stream = client.complete({ prefix: 'def main():\n', suffix: '', maxTokens: 3000, sampling: GREEDY, ignoreEos: true }, { signal: controller.signal });
    for await (const chunk of stream) {
      if (chunk.index >= 2) controller.abort();
    }
    const result = await stream.result;
    expect(result.stopReason).toBe('cancelled');
    expect(result.nGenerated).toBeLessThan(3000);
    const already = new AbortController();
    already.abort();
    expect((await client.chat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 4 }, { signal: already.signal }).result).stopReason).toBe('cancelled');
  }, 180_000);

  it('kill -9 during generation: engine_crashed, automatic restart, model reloaded, next request succeeds', async () => {
    const { client, states } = makeClient({ restartDelaysMs: [50] });
    const slow = slowModelPath();
    await client.loadModel({ path: slow, contextSize: 4096, threads: TEST_THREADS });
    const pid = (await client.stats()).pid;
    const stream = client.complete({ prefix: 'def main():\n', suffix: '', maxTokens: 3000, sampling: GREEDY, ignoreEos: true });
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    process.kill(pid, 'SIGKILL');
    await expect(stream.result).rejects.toMatchObject({ kind: 'engine_crashed' });
    await expect(iterator.next()).rejects.toMatchObject({ kind: 'engine_crashed' });
    // Issued while restarting: waits for the restart and the reload.
    const info = await client.modelInfo();
    expect(info.path).toBe(slow);
    expect(states).toContain('restarting');
    expect((await client.stats()).pid).not.toBe(pid);
    const next = await client.complete({ prefix: 'x = ', suffix: '', maxTokens: 3, sampling: GREEDY, ignoreEos: true }).result;
    expect(next).toMatchObject({ stopReason: 'max_tokens', nGenerated: 3 });
    expect(client.logTail().some((l) => l.includes('reloaded'))).toBe(true);
  }, 180_000);
});
