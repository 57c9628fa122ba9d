// The engine host: a child process of the extension host that owns the native addon.
// It answers protocol requests over the Node IPC channel; if the addon crashes, only this
// process dies and the extension host restarts it.
import { loadAddon, isEngineError } from './native';
import { PROTOCOL_VERSION, isRequest, type HelloResult, type Request, type Response } from './protocol';

function hello(): HelloResult {
  const addon = loadAddon();
  return { protocolVersion: PROTOCOL_VERSION, engineVersion: addon.engineVersion, cpuFeatures: addon.cpuFeatures, pid: process.pid };
}

function handle(request: Request): Response {
  try {
    switch (request.method) {
      case 'hello':
        return { v: PROTOCOL_VERSION, id: request.id, ok: true, result: hello() };
    }
  } catch (e) {
    const kind = isEngineError(e) ? e.kind : 'internal';
    const message = e instanceof Error ? e.message : String(e);
    return { v: PROTOCOL_VERSION, id: request.id, ok: false, error: { kind, message } };
  }
}

function main(): void {
  if (!process.send) {
    process.stderr.write('engine-host must be started with an IPC channel (child_process.fork)\n');
    process.exitCode = 2;
    return;
  }
  process.on('message', (message: unknown) => {
    if (!isRequest(message)) {
      process.stderr.write(`engine-host: ignoring malformed message ${JSON.stringify(message)}\n`);
      return;
    }
    process.send?.(handle(message));
  });
  // The extension host going away closes the channel: exit instead of lingering.
  process.on('disconnect', () => process.exit(0));
}

main();
