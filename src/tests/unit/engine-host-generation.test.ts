// Generation through the engine host process: tokens stream in order and equal the CLI's
// greedy output on the same prompt tokens, stop strings, prefix reuse, prompt_too_long,
// cancel, supersede and concurrent slots. The prompts are built in the test with the host's
// own prompt builders over the same model file, then run through the CLI (`--tokens`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { chatPrompt, completionPrompt } from '../../engine/host/prompts';
import { loadAddon } from '../../engine/native';
import type { ChatParams, CompleteParams, GenerationResult, ModelInfo } from '../../engine/protocol';
import { runCliJson } from '../helpers/cli';
import { CHAT_MODEL, FIM_MODEL, slowModelPath, TEST_THREADS } from '../helpers/engine-models';
import { RawHost } from '../helpers/raw-host';

const CONTEXT = 1024;
const GREEDY = { temp: 0 };

function cliGreedy(model: string, prompt: number[], n: number): { tokens: number[]; text: string } {
  return runCliJson(['generate', model, '--tokens', prompt.join(','), '--n', String(n), '--temp', '0', '--ignore-eos', '--threads', String(TEST_THREADS)]);
}

/** Sends a generation request without waiting; returns the JSON-RPC id to wait for. */
let nextWireId = 1;
function start(host: RawHost, method: 'complete' | 'chat', params: CompleteParams | ChatParams): number {
  const id = nextWireId++;
  host.send({ jsonrpc: '2.0', id, method, params });
  return id;
}

async function resultOf(host: RawHost, wireId: number): Promise<GenerationResult> {
  const answer = await host.waitFor((m) => m.id === wireId, 120_000);
  if (answer.error) throw new Error(`${answer.error.data?.kind}: ${answer.error.message}`);
  return answer.result as GenerationResult;
}

function expectInOrder(host: RawHost, requestId: string, result: GenerationResult): number[] {
  const chunks = host.tokens(requestId);
  const ids = chunks.flatMap((c) => c.ids);
  chunks.filter((c) => c.ids.length > 0).forEach((c, i) => expect(c.index, `chunk ${i} of ${requestId}`).toBe(i));
  expect(chunks.map((c) => c.text).join('')).toBe(result.text);
  return ids;
}

describe('engine host: generation on tiny models', () => {
  let host: RawHost;
  beforeAll(async () => {
    host = new RawHost();
    const info = await host.call<ModelInfo>('loadModel', { path: FIM_MODEL, contextSize: CONTEXT, threads: TEST_THREADS });
    // The backend of the loaded model (this build's CPU on Linux), as diagnostics shows it.
    expect(info.backend.preference).toBe('auto');
    expect(['cpu', 'metal']).toContain(info.backend.kind);
  });
  afterAll(() => host.kill());

  it('complete streams tokens in order that equal the CLI greedy output on the same prompt', async () => {
    const params: CompleteParams = { requestId: 'fim-1', prefix: 'def add(a, b):\n    ', suffix: '\n\nprint(add(1, 2))', maxTokens: 24, sampling: GREEDY, ignoreEos: true };
    const result = await resultOf(host, start(host, 'complete', params));
    const ids = expectInOrder(host, 'fim-1', result);
    const prompt = completionPrompt(new (loadAddon().Model)(FIM_MODEL), CONTEXT, params);
    const cli = cliGreedy(FIM_MODEL, prompt, 24);
    expect(ids).toEqual(cli.tokens);
    expect(result.text).toBe(cli.text);
    expect(result).toMatchObject({ stopReason: 'max_tokens', nPrompt: prompt.length, nGenerated: 24 });
  });

  it('a second request sharing the prefix reuses the KV cache', async () => {
    const base = { prefix: 'import os\nimport sys\n\ndef main():\n    args = sys.argv[1:]\n', suffix: '', maxTokens: 4, sampling: GREEDY };
    const first = await resultOf(host, start(host, 'complete', { ...base, requestId: 'reuse-1' }));
    const second = await resultOf(host, start(host, 'complete', { ...base, prefix: `${base.prefix}    if not args:\n`, requestId: 'reuse-2' }));
    expect(first.nPrompt).toBeGreaterThan(10);
    expect(second.nReused).toBeGreaterThan(10);
    expect(second.nReused + second.nEvaluated).toBe(second.nPrompt);
  });

  it('a stop string ends generation with stopReason stop; the text stops before it', async () => {
    const params: CompleteParams = { requestId: 'stop-free', prefix: 'for i in range(10):\n', suffix: '', maxTokens: 24, sampling: GREEDY, ignoreEos: true };
    const free = await resultOf(host, start(host, 'complete', params));
    const stop = free.text.slice(Math.floor(free.text.length / 2), Math.floor(free.text.length / 2) + 3);
    expect(stop.length).toBe(3);
    const stopped = await resultOf(host, start(host, 'complete', { ...params, requestId: 'stop-1', stop: [stop] }));
    expect(stopped.stopReason).toBe('stop');
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
    expectInOrder(host, 'stop-1', stopped);
  });

  it('prompts that cannot fit are prompt_too_long', async () => {
    const fim = await host.fail('complete', { requestId: 'long-1', prefix: 'x', suffix: '', maxTokens: CONTEXT });
    expect(fim.data?.kind).toBe('prompt_too_long');
    const chat = await host.fail('chat', { requestId: 'long-2', maxTokens: 8, messages: [{ role: 'user', content: 'word '.repeat(CONTEXT * 2) }] });
    expect(chat.data?.kind).toBe('prompt_too_long');
    expect(chat.message).toMatch(/contextSize/);
    await host.call('stats');
  });

  it('chat renders the model template and streams the CLI greedy tokens', async () => {
    await host.call<ModelInfo>('loadModel', { path: CHAT_MODEL, contextSize: CONTEXT, threads: TEST_THREADS });
    const params: ChatParams = {
      requestId: 'chat-1',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Name a prime.' },
      ],
      maxTokens: 16,
      sampling: GREEDY,
      ignoreEos: true,
    };
    const result = await resultOf(host, start(host, 'chat', params));
    const prompt = chatPrompt(new (loadAddon().Model)(CHAT_MODEL), CONTEXT, params);
    expect(expectInOrder(host, 'chat-1', result)).toEqual(cliGreedy(CHAT_MODEL, prompt, 16).tokens);
    expect(result.nPrompt).toBe(prompt.length);
  });
});

describe('engine host: cancel, supersede and concurrency (slow model)', () => {
  let host: RawHost;
  const long = (requestId: string, prefix = 'def main():\n'): CompleteParams => ({ requestId, prefix, suffix: '', maxTokens: 3000, sampling: GREEDY, ignoreEos: true });

  beforeAll(async () => {
    host = new RawHost();
    await host.call<ModelInfo>('loadModel', { path: slowModelPath(), contextSize: 4096, threads: TEST_THREADS });
  }, 180_000);
  afterAll(() => host.kill());

  const firstToken = (requestId: string) => host.waitFor((m) => m.method === 'tokens' && (m.params as { requestId: string }).requestId === requestId);

  it('cancel ends the request as cancelled; at most one token follows the acknowledgement', async () => {
    const wireId = start(host, 'complete', long('cancel-1'));
    await firstToken('cancel-1');
    const ack = await host.request('cancel', { requestId: 'cancel-1' });
    expect(ack.result).toEqual({ cancelled: true });
    const result = await resultOf(host, wireId);
    expect(result.stopReason).toBe('cancelled');
    const after = host.received.slice(host.received.indexOf(ack)).filter((m) => m.method === 'tokens' && (m.params as { requestId: string }).requestId === 'cancel-1');
    expect(after.length).toBeLessThanOrEqual(1);
    expect(result.nGenerated).toBeLessThan(3000);
    expectInOrder(host, 'cancel-1', result);
    expect(await host.call('cancel', { requestId: 'cancel-1' })).toEqual({ cancelled: false });
  });

  it('a new completion supersedes the running one', async () => {
    const oldId = start(host, 'complete', long('sup-old'));
    await firstToken('sup-old');
    const fresh = await resultOf(host, start(host, 'complete', { ...long('sup-new', 'class A:\n'), maxTokens: 4 }));
    const old = await resultOf(host, oldId);
    expect(old.stopReason).toBe('superseded');
    expect(fresh.stopReason).toBe('max_tokens');
    expect(fresh.nGenerated).toBe(4);
  });

  it('chat and completion run at the same time and both finish', async () => {
    const chatId = start(host, 'chat', { requestId: 'both-chat', messages: [{ role: 'user', content: 'hello' }], maxTokens: 12, sampling: GREEDY, ignoreEos: true });
    const completeId = start(host, 'complete', { ...long('both-fim'), maxTokens: 12 });
    const [chat, fim] = await Promise.all([resultOf(host, chatId), resultOf(host, completeId)]);
    expect(chat.stopReason).toBe('max_tokens');
    expect(fim.stopReason).toBe('max_tokens');
    expect(expectInOrder(host, 'both-chat', chat)).toHaveLength(12);
    expect(expectInOrder(host, 'both-fim', fim)).toHaveLength(12);
    const stats = await host.call<{ engine: { slots: Array<{ name: string }> }; requests: { cancelled: number } }>('stats');
    expect(stats.engine.slots.map((s) => s.name)).toEqual(expect.arrayContaining(['chat', 'completion']));
    expect(stats.requests.cancelled).toBeGreaterThanOrEqual(2);
  });

  it('unloading settles a running request as cancelled', async () => {
    const wireId = start(host, 'complete', long('unload-1'));
    await firstToken('unload-1');
    expect(await host.call('unloadModel')).toEqual({});
    expect((await resultOf(host, wireId)).stopReason).toBe('cancelled');
    expect((await host.fail('modelInfo')).data?.kind).toBe('no_model');
  });
});
