// The protocol's pure parts: params validation (typed errors naming the field path), the
// engine host's frame reader (recovery from bad frames), error codes.
import { PassThrough } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { checkMessage, ResilientMessageReader, type FrameProblem } from '../../engine/host/frame-reader';
import { ErrorCode, errorCodeFor, METHOD_NAMES, PROTOCOL_VERSION, Requests } from '../../engine/protocol';
import { validateParams } from '../../engine/protocol-validation';

const invalid = (message: RegExp) => expect.objectContaining({ kind: 'invalid_params', message: expect.stringMatching(message) as unknown });

describe('params validation', () => {
  it('accepts well-formed params and keeps only what was given', () => {
    expect(validateParams('initialize', { protocolVersion: PROTOCOL_VERSION, client: 'test' })).toEqual({ protocolVersion: PROTOCOL_VERSION, client: 'test' });
    expect(validateParams('loadModel', { path: '/m.gguf', threads: 2 })).toEqual({ path: '/m.gguf', threads: 2 });
    const complete = validateParams('complete', {
      requestId: 'r1',
      prefix: 'def f(',
      suffix: ')',
      maxTokens: 16,
      chunks: [{ path: 'a.py', text: 'x = 1' }],
      sampling: { temp: 0 },
      stop: ['\n\n'],
    });
    expect(complete).toEqual({ requestId: 'r1', prefix: 'def f(', suffix: ')', maxTokens: 16, chunks: [{ path: 'a.py', text: 'x = 1' }], sampling: { temp: 0 }, stop: ['\n\n'] });
    expect(validateParams('chat', { requestId: 'c', maxTokens: 8, messages: [{ role: 'user', content: 'hi' }] }).messages).toHaveLength(1);
    expect(validateParams('stats', undefined)).toBeUndefined();
    expect(validateParams('stats', {})).toBeUndefined();
  });

  it('names the method and the field path of what is wrong', () => {
    expect(() => validateParams('tokenize', { text: 5 })).toThrow(invalid(/^invalid params for 'tokenize': text must be a string, got number$/));
    expect(() => validateParams('complete', { requestId: 'r', prefix: '', suffix: '', maxTokens: 4, chunks: [{ text: 'a' }, { text: 1 }] })).toThrow(
      invalid(/chunks\[1\]\.text must be a string, got number/),
    );
    expect(() => validateParams('complete', { requestId: 'r', prefix: '', suffix: '', maxTokens: 1.5 })).toThrow(invalid(/maxTokens must be an integer/));
    expect(() => validateParams('chat', { requestId: 'r', maxTokens: 4, messages: [{ role: 'robot', content: 'x' }] })).toThrow(invalid(/messages\[0\]\.role must be one of/));
    expect(() => validateParams('chat', { requestId: 'r', maxTokens: 4, messages: [] })).toThrow(invalid(/messages must not be empty/));
    expect(() => validateParams('complete', { requestId: 'r', prefix: '', suffix: '', maxTokens: 4, sampling: { temp: -1 } })).toThrow(invalid(/sampling\.temp must be in \[0, 100\]/));
    expect(() => validateParams('complete', { requestId: 'r', prefix: '', suffix: '', maxTokens: 4, stop: [''] })).toThrow(invalid(/stop\[0\] must be a string of 1\.\.256/));
    expect(() => validateParams('loadModel', { path: '/m', contextSize: 'big' })).toThrow(invalid(/contextSize must be an integer, got string/));
    expect(() => validateParams('cancel', { requestId: '' })).toThrow(invalid(/requestId must have 1\.\.128 characters/));
  });

  it('refuses unknown fields, missing params and positional params', () => {
    expect(() => validateParams('tokenize', { text: 'a', addBos: true })).toThrow(invalid(/addBos is not a known field/));
    expect(() => validateParams('complete', { requestId: 'r', prefix: '', suffix: '', maxTokens: 4, sampling: { temperature: 0 } })).toThrow(invalid(/sampling\.temperature is not a known field/));
    expect(() => validateParams('tokenize', undefined)).toThrow(invalid(/params must be an object, got undefined/));
    expect(() => validateParams('stats', [1])).toThrow(invalid(/params must be an object, got array/));
    expect(() => validateParams('stats', { verbose: true })).toThrow(invalid(/verbose is not a known field \(known: none\)/));
  });
});

describe('protocol tables', () => {
  it('has a request object for every method', () => {
    expect(Object.keys(Requests).sort()).toEqual([...METHOD_NAMES].sort());
    for (const name of METHOD_NAMES) expect(Requests[name].method).toBe(name);
  });

  it('maps kinds to JSON-RPC codes (engine kinds share one application code)', () => {
    expect(errorCodeFor('parse_error')).toBe(-32700);
    expect(errorCodeFor('unknown_method')).toBe(-32601);
    expect(errorCodeFor('invalid_params')).toBe(-32602);
    expect(errorCodeFor('truncated_file')).toBe(ErrorCode.engine);
  });
});

/** Feeds raw bytes to a frame reader; returns the messages and the problems it reported. */
function readFrames(...pieces: string[]): { messages: unknown[]; problems: FrameProblem[] } {
  const input = new PassThrough();
  const problems: FrameProblem[] = [];
  const messages: unknown[] = [];
  new ResilientMessageReader(input, (p) => problems.push(p)).listen((m) => messages.push(m));
  for (const piece of pieces) input.write(Buffer.from(piece, 'utf8'));
  return { messages, problems };
}

const frame = (body: string) => `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const stats = (id: number) => frame(JSON.stringify({ jsonrpc: '2.0', id, method: 'stats' }));

describe('frame reader', () => {
  it('reads frames split anywhere, multi-byte text included', () => {
    const text = frame(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tokenize', params: { text: 'héllo ☃ 𝄞' } })) + stats(2);
    const bytes = Buffer.from(text, 'utf8');
    const input = new PassThrough();
    const messages: unknown[] = [];
    new ResilientMessageReader(input, () => undefined).listen((m) => messages.push(m));
    for (let i = 0; i < bytes.length; i += 3) input.write(bytes.subarray(i, i + 3));
    expect(messages).toEqual([
      { jsonrpc: '2.0', id: 1, method: 'tokenize', params: { text: 'héllo ☃ 𝄞' } },
      { jsonrpc: '2.0', id: 2, method: 'stats' },
    ]);
  });

  it('reports a body that is not JSON and reads the next frame', () => {
    const { messages, problems } = readFrames(frame('{not json'), stats(2));
    expect(problems).toEqual([expect.objectContaining({ kind: 'parse_error', id: null })]);
    expect(messages).toHaveLength(1);
  });

  it('drops a header without Content-Length, in the same chunk as the next frame too', () => {
    const { messages, problems } = readFrames(`Content-Type: x\r\n\r\n${stats(3)}`);
    expect(problems.map((p) => p.kind)).toEqual(['parse_error']);
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 3, method: 'stats' }]);
  });

  it('skips junk before a header and resynchronizes after a short Content-Length', () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'stats' });
    const { messages, problems } = readFrames(`junk junk${stats(4)}`, `Content-Length: 5\r\n\r\n${body}`, stats(5));
    expect(problems.every((p) => p.kind === 'parse_error')).toBe(true);
    expect(messages).toEqual([
      { jsonrpc: '2.0', id: 4, method: 'stats' },
      { jsonrpc: '2.0', id: 5, method: 'stats' },
    ]);
  });

  it('answers a bare JSON line (no header) at once instead of waiting for more input', () => {
    const { messages, problems } = readFrames('{"jsonrpc":"2.0","id":1,"method":"stats"}\n', stats(6));
    expect(problems.map((p) => p.kind)).toEqual(['parse_error']);
    expect(problems[0]?.message).toMatch(/without a header/);
    expect(messages).toEqual([{ jsonrpc: '2.0', id: 6, method: 'stats' }]);
  });

  it('classifies JSON that is not a JSON-RPC message, keeping a usable id', () => {
    expect(checkMessage([1, 2])).toMatchObject({ kind: 'invalid_request', id: null });
    expect(checkMessage(42)).toMatchObject({ kind: 'invalid_request', id: null });
    expect(checkMessage({ id: 7, method: 'stats' })).toMatchObject({ kind: 'invalid_request', id: 7 });
    expect(checkMessage({ jsonrpc: '2.0', id: 8, method: 3 })).toMatchObject({ kind: 'invalid_request', id: 8 });
    expect(checkMessage({ jsonrpc: '2.0', id: { x: 1 }, method: 'stats' })).toMatchObject({ kind: 'invalid_request', id: null });
    expect(checkMessage({ jsonrpc: '2.0', id: 9 })).toMatchObject({ kind: 'invalid_request', id: 9 });
    expect(checkMessage({ jsonrpc: '2.0', id: 1, method: 'stats' })).toBeNull();
    expect(checkMessage({ jsonrpc: '2.0', method: 'note' })).toBeNull();
    expect(checkMessage({ jsonrpc: '2.0', id: 1, result: null })).toBeNull();
  });
});
