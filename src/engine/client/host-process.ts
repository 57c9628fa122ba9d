// One engine host child process and its JSON-RPC connection. Started with the running
// executable (`process.execPath`: Node, or VS Code's Electron made to act as Node by
// ELECTRON_RUN_AS_NODE=1). Tracks its requests so that when the process exits every one in
// flight rejects at once: engine_crashed, or engine_stopped when the client stopped it.
import { spawn, type ChildProcess } from 'node:child_process';

import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type Logger,
  type Message,
  type MessageConnection,
  type MessageWriter,
  type RequestType,
  type RequestType0,
} from 'vscode-jsonrpc/node';

import { Notifications, type ErrorData, type LoadProgressParams, type LogParams, type TokensParams } from '../protocol';
import { EngineError, toEngineError } from './engine-error';
import { LineSplitter } from './log-tail';

export interface HostProcessOptions {
  hostScript: string;
  execPath: string;
  env: NodeJS.ProcessEnv;
  /** A line the host wrote to stderr, or a jsonrpc diagnostic. */
  onLogLine: (line: string) => void;
  onTokens: (params: TokensParams) => void;
  onLoadProgress: (params: LoadProgressParams) => void;
  onLog: (params: LogParams) => void;
  /** The process is gone (after in-flight requests were rejected). */
  onExit: (host: HostProcess, description: string) => void;
}

/**
 * A writer whose write() never rejects. vscode-jsonrpc's sendRequest rethrows a failed write
 * from inside an async Promise executor, which becomes an unhandled rejection; a write fails
 * only when the process is gone, and then its exit handler rejects the request anyway.
 */
class ExitTolerantWriter implements MessageWriter {
  constructor(
    private readonly inner: StreamMessageWriter,
    private readonly onLogLine: (line: string) => void,
  ) {}

  get onError() {
    return this.inner.onError;
  }

  get onClose() {
    return this.inner.onClose;
  }

  write(message: Message): Promise<void> {
    return this.inner.write(message).catch((error: unknown) => {
      this.onLogLine(`[client] could not write to the engine process: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  end(): void {
    this.inner.end();
  }

  dispose(): void {
    this.inner.dispose();
  }
}

export class HostProcess {
  private readonly child: ChildProcess;
  private readonly connection: MessageConnection;
  private readonly inflight = new Set<(error: EngineError) => void>();
  private stopReason: string | undefined;
  private killReason: string | undefined;
  private exitError: EngineError | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;

  constructor(private readonly options: HostProcessOptions) {
    this.child = spawn(options.execPath, [options.hostScript], {
      env: { ...options.env, ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    const stdin = this.child.stdin;
    const stdout = this.child.stdout;
    const stderr = this.child.stderr;
    if (!stdin || !stdout || !stderr) throw new EngineError('engine_crashed', 'the engine process was started without stdio pipes');
    const stderrLines = new LineSplitter(options.onLogLine);
    stderr.setEncoding('utf8');
    stderr.on('data', (text: string) => stderrLines.push(text));
    stderr.on('end', () => stderrLines.end());
    const logger: Logger = {
      error: (m) => options.onLogLine(`[client jsonrpc] ${m}`),
      warn: (m) => options.onLogLine(`[client jsonrpc] ${m}`),
      info: () => undefined,
      log: () => undefined,
    };
    const writer = new ExitTolerantWriter(new StreamMessageWriter(stdin), options.onLogLine);
    this.connection = createMessageConnection(new StreamMessageReader(stdout), writer, logger);
    this.connection.onNotification(Notifications.tokens, options.onTokens);
    this.connection.onNotification(Notifications.loadProgress, options.onLoadProgress);
    this.connection.onNotification(Notifications.log, options.onLog);
    this.connection.onError(([error]) => options.onLogLine(`[client] protocol stream error: ${error.message}`));
    this.connection.listen();
    this.exited = new Promise<void>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.onGone(signal !== null ? `was killed (${signal})` : `exited with code ${code}`);
        resolve();
      });
      this.child.once('error', (error) => {
        // Spawning failed: no 'exit' follows (Node sets no pid). Other errors (a failed kill) are followed by 'exit' or nothing to do.
        if (this.child.pid === undefined) {
          this.onGone(`could not be started: ${error.message}`);
          resolve();
        }
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exitError !== undefined;
  }

  /** True when the client stopped this process on purpose (its exit is no crash). */
  get stoppedOnPurpose(): boolean {
    return this.stopReason !== undefined;
  }

  request<P, R>(type: RequestType<P, R, ErrorData>, params: P): Promise<R> {
    return this.track(() => this.connection.sendRequest(type, params));
  }

  request0<R>(type: RequestType0<R, ErrorData>): Promise<R> {
    return this.track(() => this.connection.sendRequest(type));
  }

  /** The process is about to exit on request (shutdown): its exit is no crash. */
  expectExit(reason: string): void {
    this.stopReason ??= reason;
  }

  /** Stops the process on purpose: requests in flight reject with engine_stopped now. */
  stop(reason: string): void {
    this.expectExit(reason);
    this.rejectInflight(new EngineError('engine_stopped', reason));
    if (!this.hasExited) this.child.kill();
  }

  /** Kills a misbehaving process; its exit counts as a crash described by `reason`. */
  kill(reason: string): void {
    this.killReason ??= reason;
    this.child.kill('SIGKILL');
  }

  private track<R>(send: () => Promise<R>): Promise<R> {
    if (this.exitError) return Promise.reject(this.exitError);
    return new Promise<R>((resolve, reject) => {
      const fail = (error: EngineError) => reject(error);
      this.inflight.add(fail);
      let sent: Promise<R>;
      try {
        sent = send();
      } catch (error) {
        // vscode-jsonrpc throws synchronously once the connection is closed.
        this.inflight.delete(fail);
        reject(this.exitError ?? toEngineError(error));
        return;
      }
      sent.then(resolve, (error: unknown) => reject(toEngineError(error))).finally(() => this.inflight.delete(fail));
    });
  }

  private onGone(description: string): void {
    if (this.exitError) return;
    const what = this.killReason !== undefined ? `${this.killReason}; it ${description}` : `the engine process ${description}`;
    this.exitError =
      this.stopReason !== undefined ? new EngineError('engine_stopped', this.stopReason) : new EngineError('engine_crashed', what);
    this.rejectInflight(this.exitError);
    this.connection.dispose();
    this.options.onExit(this, what);
  }

  private rejectInflight(error: EngineError): void {
    const pending = [...this.inflight];
    this.inflight.clear();
    for (const fail of pending) fail(error);
  }
}
