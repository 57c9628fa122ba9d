// Extension-host side of the protocol: starts the engine host as a child process and
// sends it requests. Never imports vscode, so unit tests run it against the real host.
import { fork, type ChildProcess } from 'node:child_process';

import { PROTOCOL_VERSION, isResponse, type ErrorPayload, type Method, type ResultOf } from './protocol';

export interface EngineClientOptions {
  /** Absolute path of dist/engine-host.js. */
  hostScript: string;
  /** Milliseconds a request may take before it fails with kind `timeout`. */
  requestTimeoutMs?: number;
  /** Lines the host writes to stderr (logs, crash reports). */
  onStderr?: (line: string) => void;
}

export class EngineRequestError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
    this.name = 'EngineRequestError';
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class EngineClient {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly options: EngineClientOptions) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  request<M extends Method>(method: M): Promise<ResultOf[M]> {
    const child = this.ensureStarted();
    const id = this.nextId++;
    return new Promise<ResultOf[M]>((resolve, reject) => {
      const timeoutMs = this.options.requestTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new EngineRequestError('timeout', `engine did not answer '${method}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      child.send({ v: PROTOCOL_VERSION, id, method });
    });
  }

  dispose(): void {
    this.failAll({ kind: 'engine_stopped', message: 'the engine was stopped' });
    this.child?.kill();
    this.child = undefined;
  }

  private ensureStarted(): ChildProcess {
    if (this.child && this.running) return this.child;
    // In VS Code desktop process.execPath is Electron; ELECTRON_RUN_AS_NODE makes it Node.
    const child = fork(this.options.hostScript, [], {
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.length > 0) this.options.onStderr?.(line);
    });
    child.on('message', (message: unknown) => this.onMessage(message));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.failAll({ kind: 'engine_crashed', message: `the engine process exited (${signal ?? `code ${code}`})` });
    });
    this.child = child;
    return child;
  }

  private onMessage(message: unknown): void {
    if (!isResponse(message)) return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(new EngineRequestError(message.error.kind, message.error.message));
  }

  private failAll(error: ErrorPayload): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new EngineRequestError(error.kind, error.message));
      this.pending.delete(id);
    }
  }
}
