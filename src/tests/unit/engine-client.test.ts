// The engine client against the real engine host process (dist/engine-host.js + alloy.node).
import { afterEach, describe, expect, it } from 'vitest';

import { EngineClient } from '../../engine/engine-client';
import { PROTOCOL_VERSION } from '../../engine/protocol';
import { engineHostPath } from '../helpers/paths';

describe('engine client ↔ engine host', () => {
  let client: EngineClient | undefined;
  afterEach(() => client?.dispose());

  it('hello reports the protocol version and the native engine', async () => {
    client = new EngineClient({ hostScript: engineHostPath });
    const hello = await client.request('hello');
    expect(hello.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(hello.engineVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Array.isArray(hello.cpuFeatures)).toBe(true);
    expect(hello.pid).not.toBe(process.pid);
  });

  it('a host that dies is started again by the next request', async () => {
    client = new EngineClient({ hostScript: engineHostPath });
    const first = await client.request('hello');
    process.kill(first.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    const second = await client.request('hello');
    expect(second.pid).not.toBe(first.pid);
  });

  it('reports a missing addon as an error answer, not a crash', async () => {
    const saved = process.env['ALLOY_ADDON_PATH'];
    process.env['ALLOY_ADDON_PATH'] = '/nonexistent/alloy.node';
    try {
      client = new EngineClient({ hostScript: engineHostPath });
      await expect(client.request('hello')).rejects.toMatchObject({ kind: 'addon_missing' });
    } finally {
      if (saved === undefined) delete process.env['ALLOY_ADDON_PATH'];
      else process.env['ALLOY_ADDON_PATH'] = saved;
    }
  });
});
