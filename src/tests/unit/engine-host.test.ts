// The engine host process (dist/engine-host.js) at the wire level: initialize, every kind of
// bad input answered with a typed error while the host keeps serving, model file errors,
// busy_loading, and how the process ends. Generation: engine-host-generation.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PROTOCOL_VERSION } from '../../engine/protocol';
import { FIM_MODEL, notGguf, slowModelPath, truncatedModel } from '../helpers/engine-models';
import { makeTempDir } from '../helpers/paths';
import { frame, RawHost, type WireMessage } from '../helpers/raw-host';

interface Stats {
  pid: number;
  model: { path: string } | null;
  requests: { served: number; cancelled: number; failed: number };
}

const kindOf = (m: WireMessage) => m.error?.data?.kind;

describe('engine host: initialize and bad input', () => {
  let host: RawHost;
  beforeAll(() => {
    host = new RawHost();
  });
  afterAll(() => host.kill());

  it('initialize reports the protocol, the engine and the CPU', async () => {
    const init = await host.call<{ protocolVersion: number; engineVersion: string; backend: string; simd: string[]; defaultThreads: number; pid: number }>(
      'initialize',
      { protocolVersion: PROTOCOL_VERSION, client: 'engine-host.test' },
    );
    expect(init.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(init.engineVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(init.backend).toBe('cpu');
    expect(Array.isArray(init.simd)).toBe(true);
    expect(init.defaultThreads).toBeGreaterThanOrEqual(1);
    expect(init.pid).toBe(host.child.pid);
  });

  it('a client of another protocol version gets protocol_mismatch naming both versions', async () => {
    const error = await host.fail('initialize', { protocolVersion: PROTOCOL_VERSION + 7, client: 'future' });
    expect(error.data?.kind).toBe('protocol_mismatch');
    expect(error.message).toContain(String(PROTOCOL_VERSION + 7));
    expect(error.message).toContain(String(PROTOCOL_VERSION));
    expect(error.message).toMatch(/reinstall|reload/);
  });

  /** Sends raw input, then stats; returns the id-null error answers that came in between. */
  async function frameProblems(send: () => void): Promise<WireMessage[]> {
    const start = host.received.length;
    send();
    await host.call('stats');
    return host.received.slice(start).filter((m) => m.id === null && m.error !== undefined);
  }

  it('answers malformed frames with id-null errors (-32700 parse_error, -32600 invalid_request) and keeps serving', async () => {
    const cases: Array<[string, () => void, string, number]> = [
      ['a body that is not JSON', () => host.send('{"jsonrpc": "2.0", "id": 1, "method": '), 'parse_error', -32700],
      ['a header without Content-Length', () => host.write('Content-Type: application/json\r\n\r\n'), 'parse_error', -32700],
      ['junk before a frame', () => host.write(`\u0000garbage${frame('{"jsonrpc":"2.0","method":"nothing"}')}`), 'parse_error', -32700],
      ['an oversize Content-Length', () => host.write('Content-Length: 999999999999\r\n\r\n'), 'parse_error', -32700],
      ['a JSON array (batch)', () => host.send('[{"jsonrpc":"2.0","id":1,"method":"stats"}]'), 'invalid_request', -32600],
      ['a JSON number', () => host.send('42'), 'invalid_request', -32600],
      ['an object that is not JSON-RPC', () => host.send('{"hello":"world"}'), 'invalid_request', -32600],
    ];
    for (const [what, send, kind, code] of cases) {
      const problems = await frameProblems(send);
      expect(problems.map(kindOf), what).toContain(kind);
      expect(problems.find((p) => kindOf(p) === kind)?.error?.code, what).toBe(code);
    }
  });

  it('keeps the id of a request with a bad field', async () => {
    host.send({ jsonrpc: '2.0', id: 'bad-method-type', method: 17 });
    const answer = await host.waitFor((m) => m.id === 'bad-method-type');
    expect(kindOf(answer)).toBe('invalid_request');
  });

  it('answers unknown methods with MethodNotFound, kind unknown_method', async () => {
    const error = await host.fail('generateEverything', {});
    expect(error.code).toBe(-32601);
    expect(error.data?.kind).toBe('unknown_method');
    expect(error.message).toContain('stats');
  });

  it('answers wrong param types with InvalidParams naming the field', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['tokenize', { text: 5 }, /text must be a string, got number/],
      ['tokenize', undefined, /params must be an object/],
      ['loadModel', { path: 42 }, /path must be a string/],
      ['loadModel', { path: '/m.gguf', threads: 0 }, /threads must be in \[1, 256\]/],
      ['loadModel', { path: '/m.gguf', backend: 'gpu' }, /backend must be one of auto, cpu, metal, got 'gpu'/],
      ['complete', { requestId: 'r', prefix: 'a', suffix: '', maxTokens: 'many' }, /maxTokens must be an integer, got string/],
      ['complete', { requestId: 'r', prefix: 'a', suffix: '', maxTokens: 4, chunks: [{ text: null }] }, /chunks\[0\]\.text must be a string, got null/],
      ['chat', { requestId: 'r', maxTokens: 4, messages: 'hello' }, /messages must be an array, got string/],
      ['cancel', { requestId: 7 }, /requestId must be a string/],
      ['stats', [1, 2], /params must be an object, got array/],
      ['tokenize', { text: 'a', bos: true }, /bos is not a known field/],
    ];
    for (const [method, params, message] of cases) {
      const error = await host.fail(method, params);
      expect(error.code, method).toBe(-32602);
      expect(error.data?.kind, method).toBe('invalid_params');
      expect(error.message, method).toMatch(message);
    }
  });

  it('counts the failures and still answers stats', async () => {
    const stats = await host.call<Stats>('stats');
    expect(stats.pid).toBe(host.child.pid);
    expect(stats.requests.failed).toBeGreaterThanOrEqual(20);
    expect(stats.requests.served).toBeGreaterThanOrEqual(8);
  });

  it('model requests without a model are no_model; unloadModel is a no-op', async () => {
    for (const [method, params] of [
      ['modelInfo', undefined],
      ['tokenize', { text: 'x' }],
      ['complete', { requestId: 'n1', prefix: 'a', suffix: '', maxTokens: 4 }],
      ['chat', { requestId: 'n2', maxTokens: 4, messages: [{ role: 'user', content: 'hi' }] }],
    ] as const) {
      expect((await host.fail(method, params)).data?.kind, method).toBe('no_model');
    }
    expect(await host.call('unloadModel')).toEqual({});
    expect(await host.call('cancel', { requestId: 'never-started' })).toEqual({ cancelled: false });
  });

  it('a directory is not_a_file, a missing file io_error, a non-GGUF bad_magic, a truncated GGUF truncated_file', async () => {
    const dir = makeTempDir('engine-host');
    expect((await host.fail('loadModel', { path: dir })).data?.kind).toBe('not_a_file');
    expect((await host.fail('loadModel', { path: `${dir}/missing.gguf` })).data?.kind).toBe('io_error');
    expect((await host.fail('loadModel', { path: notGguf(dir) })).data?.kind).toBe('bad_magic');
    const truncated = await host.fail('loadModel', { path: truncatedModel(dir) });
    expect(truncated.data?.kind).toBe('truncated_file');
    expect(truncated.message).toMatch(/truncated/);
    expect((await host.call<Stats>('stats')).model).toBeNull();
  });
});

describe('engine host: loading', () => {
  it('a load while a load runs is busy_loading, and so are model requests', { timeout: 180_000 }, async () => {
    const slow = slowModelPath();
    const host = new RawHost();
    try {
      host.send({ jsonrpc: '2.0', id: 1, method: 'loadModel', params: { path: slow, threads: 1 } });
      host.send({ jsonrpc: '2.0', id: 2, method: 'loadModel', params: { path: FIM_MODEL } });
      host.send({ jsonrpc: '2.0', id: 3, method: 'tokenize', params: { text: 'x' } });
      expect(kindOf(await host.waitFor((m) => m.id === 2))).toBe('busy_loading');
      expect(kindOf(await host.waitFor((m) => m.id === 3))).toBe('busy_loading');
      const loaded = await host.waitFor((m) => m.id === 1);
      expect(loaded.error).toBeUndefined();
      const progress = host.received.filter((m) => m.method === 'loadProgress').map((m) => (m.params as { fraction: number }).fraction);
      expect(progress.length).toBeGreaterThan(0);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect((await host.call<Stats>('stats')).model?.path).toBe(slow);
    } finally {
      host.kill();
    }
  });
});

describe('engine host: process lifetime', () => {
  it('answers shutdown, then exits with code 0', async () => {
    const host = new RawHost();
    expect(await host.call('shutdown')).toEqual({});
    expect(await host.exited).toEqual({ code: 0, signal: null });
  });

  it('exits with code 0 when stdin closes (the extension host is gone)', async () => {
    const host = new RawHost();
    await host.call('stats');
    host.child.stdin?.end();
    expect(await host.exited).toEqual({ code: 0, signal: null });
  });

  it('writes nothing but protocol frames to stdout', async () => {
    const host = new RawHost();
    await host.call('initialize', { protocolVersion: PROTOCOL_VERSION, client: 'stdout check' });
    await host.call('shutdown');
    await host.exited;
    // Every message parsed: vscode-jsonrpc's reader would have stalled or thrown on stray output.
    expect(host.received.every((m) => m.jsonrpc === '2.0')).toBe(true);
  });
});
