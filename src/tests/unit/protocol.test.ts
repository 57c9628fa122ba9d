import { describe, expect, it } from 'vitest';

import { PROTOCOL_VERSION, isRequest, isResponse } from '../../engine/protocol';

describe('protocol', () => {
  it('accepts a well-formed hello request', () => {
    expect(isRequest({ v: PROTOCOL_VERSION, id: 1, method: 'hello' })).toBe(true);
  });

  it('rejects requests of another version, unknown methods and junk', () => {
    expect(isRequest({ v: PROTOCOL_VERSION + 1, id: 1, method: 'hello' })).toBe(false);
    expect(isRequest({ v: PROTOCOL_VERSION, id: 1, method: 'rm -rf' })).toBe(false);
    expect(isRequest({ v: PROTOCOL_VERSION, id: '1', method: 'hello' })).toBe(false);
    expect(isRequest(null)).toBe(false);
    expect(isRequest('hello')).toBe(false);
  });

  it('recognises success and error responses', () => {
    expect(isResponse({ v: PROTOCOL_VERSION, id: 3, ok: false, error: { kind: 'x', message: 'y' } })).toBe(true);
    expect(isResponse({ v: PROTOCOL_VERSION, id: 3, ok: true, result: {} })).toBe(true);
    expect(isResponse({ v: PROTOCOL_VERSION, id: 3 })).toBe(false);
  });
});
