// The extension host's side of the engine: starts the engine host process (dist/engine-host.js)
// and offers the protocol as a typed async API. Never imports vscode, so the unit tests run
// it against the real host.
//
// Crashes: when the host exits unexpectedly, every request in flight rejects with
// EngineError 'engine_crashed', and the host is started again after a backoff (250 ms, 1 s,
// 4 s), initialized, and given the last model that loaded (same params). Requests issued
// meanwhile wait for that. After `maxCrashes` crashes within `crashWindowMs` the client
// stops trying: state 'failed', `lastError` and `logTail()` say why, and requests fail fast
// with 'engine_failed' until restart() is called.
//
// Generations (complete, chat) return a GenerationStream at once. Aborting their signal sends
// `cancel`; the result then resolves with stopReason 'cancelled' (it does not reject), so
// cancelling, which is routine for inline completion, needs no try/catch.
import { randomBytes } from 'node:crypto';

import {
  PROTOCOL_VERSION,
  Requests,
  type ChatParams,
  type CompleteParams,
  type GenerationResult,
  type InitializeResult,
  type LoadModelParams,
  type LoadProgressParams,
  type ModelInfo,
  type StatsResult,
  type TokenizeParams,
  type TokenizeResult,
} from './protocol';
import { ABORTED, orAbort } from './client/abortable';
import { EngineError, toEngineError } from './client/engine-error';
import { cancelledBeforeStart, GenerationStreamController, type GenerationStream } from './client/generation-stream';
import { HostProcess } from './client/host-process';
import { LogTail } from './client/log-tail';

export { EngineError, type EngineErrorKind } from './client/engine-error';
export type { GenerationStream, TokenChunk } from './client/generation-stream';

export type EngineState = 'stopped' | 'starting' | 'ready' | 'loading' | 'restarting' | 'failed';

export interface EngineClientOptions {
  /** Absolute path of dist/engine-host.js. */
  hostScript: string;
  /** Default process.execPath. */
  execPath?: string;
  /** Extra environment for the host (over process.env as it is at each start). */
  env?: NodeJS.ProcessEnv;
  /** Named in the host's log at initialize. */
  clientName?: string;
  /** Every line the host logs (stderr, `log` notifications). */
  onLog?: (line: string) => void;
  onStateChange?: (state: EngineState, lastError: EngineError | undefined) => void;
  /** Delay before the 1st, 2nd, 3rd... restart after a crash (default 250, 1000, 4000 ms). */
  restartDelaysMs?: readonly number[];
  /** Crashes within crashWindowMs after which the client gives up (default 3 in 60 s). */
  maxCrashes?: number;
  crashWindowMs?: number;
  /** A host that has not answered initialize by then is killed (counts as a crash; default 20 s). */
  startTimeoutMs?: number;
  /** Log lines kept for logTail() (default 200). */
  logTailLines?: number;
}

export interface GenerateOptions {
  signal?: AbortSignal;
}

export interface LoadModelOptions {
  /** Stops waiting (rejects 'cancelled'); the host still finishes the load. */
  signal?: AbortSignal;
  onProgress?: (progress: LoadProgressParams) => void;
}

export type CompleteRequest = Omit<CompleteParams, 'requestId'>;
export type ChatRequest = Omit<ChatParams, 'requestId'>;

interface Waiter {
  resolve: (host: HostProcess) => void;
  reject: (error: EngineError) => void;
}

/** How long shutdown() waits for the host to exit by itself before killing it. */
const SHUTDOWN_GRACE_MS = 3000;

export class EngineClient {
  private currentState: EngineState = 'stopped';
  private host: HostProcess | undefined;
  private waiters: Waiter[] = [];
  /** Bumped to abandon a start in progress (dispose, shutdown, restart, failure). */
  private bootEpoch = 0;
  private crashTimes: number[] = [];
  private failure: EngineError | undefined;
  private lastModel: LoadModelParams | undefined;
  private initialized: InitializeResult | undefined;
  private loadsInFlight = 0;
  private progressListener: ((progress: LoadProgressParams) => void) | undefined;
  private disposed = false;
  private readonly streams = new Map<string, GenerationStreamController>();
  private readonly log: LogTail;
  private readonly startTimeoutMs: number;
  private readonly idPrefix = randomBytes(4).toString('hex');
  private nextId = 0;

  constructor(private readonly options: EngineClientOptions) {
    this.log = new LogTail(options.logTailLines ?? 200);
    this.startTimeoutMs = options.startTimeoutMs ?? 20_000;
  }

  get state(): EngineState {
    return this.currentState;
  }

  /** Why the engine last failed (crash, failed start), if it did. */
  get lastError(): EngineError | undefined {
    return this.failure;
  }

  /** What initialize answered (engine version, SIMD, threads), once started. */
  get engineInfo(): InitializeResult | undefined {
    return this.initialized;
  }

  logTail(): string[] {
    return this.log.snapshot();
  }

  /** Starts the host (if needed) and checks the protocol version. */
  async start(): Promise<InitializeResult> {
    await this.ready();
    if (!this.initialized) throw new EngineError('internal', 'engine client: ready without an initialize answer');
    return this.initialized;
  }

  /** Leaves the 'failed' state (or replaces a running host): a fresh host, the last model reloaded. */
  restart(): Promise<InitializeResult> {
    if (this.disposed) return Promise.reject(new EngineError('engine_stopped', 'the engine client was disposed'));
    this.crashTimes = [];
    this.failure = undefined;
    this.host?.stop('the engine was restarted');
    this.host = undefined;
    void this.boot('starting', 0);
    return this.start();
  }

  async loadModel(params: LoadModelParams, options: LoadModelOptions = {}): Promise<ModelInfo> {
    const host = await this.ready();
    if (options.signal?.aborted) throw new EngineError('cancelled', 'loadModel was cancelled before it started');
    // A second load is refused busy_loading by the host: the first keeps the progress events.
    if (this.loadsInFlight === 0) this.progressListener = options.onProgress;
    this.loadsInFlight++;
    this.setState('loading');
    const loading = host.request(Requests.loadModel, params).then(
      (info) => {
        if (host === this.host) this.lastModel = params;
        return info;
      },
      async (error: unknown) => {
        const e = toEngineError(error);
        if (e.kind !== 'engine_crashed' && e.kind !== 'busy_loading') await this.forgetModelIfGone(host);
        throw e;
      },
    );
    try {
      const outcome = await orAbort(loading, options.signal);
      if (outcome === ABORTED) throw new EngineError('cancelled', `stopped waiting for ${params.path} to load; the engine finishes loading it`);
      return outcome;
    } finally {
      loading.catch(() => undefined);
      this.loadsInFlight--;
      if (this.loadsInFlight === 0) {
        this.progressListener = undefined;
        if (this.currentState === 'loading') this.setState('ready');
      }
    }
  }

  async unloadModel(): Promise<void> {
    const host = await this.ready();
    await host.request0(Requests.unloadModel);
    if (host === this.host) this.lastModel = undefined;
  }

  async modelInfo(): Promise<ModelInfo> {
    return (await this.ready()).request0(Requests.modelInfo);
  }

  async tokenize(params: TokenizeParams): Promise<TokenizeResult> {
    return (await this.ready()).request(Requests.tokenize, params);
  }

  async stats(): Promise<StatsResult> {
    return (await this.ready()).request0(Requests.stats);
  }

  /** Fill-in-the-middle completion in the 'completion' slot (a newer one supersedes it). */
  complete(params: CompleteRequest, options: GenerateOptions = {}): GenerationStream {
    return this.generate(options.signal, (host, requestId) => host.request(Requests.complete, { ...params, requestId }));
  }

  /** A chat turn in the 'chat' slot. */
  chat(params: ChatRequest, options: GenerateOptions = {}): GenerationStream {
    return this.generate(options.signal, (host, requestId) => host.request(Requests.chat, { ...params, requestId }));
  }

  /** Asks the host to exit cleanly; the next request starts a new one. */
  async shutdown(): Promise<void> {
    this.bootEpoch++;
    const host = this.host;
    this.host = undefined;
    if (host && !host.hasExited) {
      host.expectExit('the engine was shut down');
      await host.request0(Requests.shutdown).catch(() => undefined);
      await Promise.race([host.exited, new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref())]);
      host.stop('the engine was shut down');
    }
    this.rejectWaiters(new EngineError('engine_stopped', 'the engine was shut down'));
    this.setState('stopped');
  }

  /** Kills the host and rejects everything pending; the client cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.bootEpoch++;
    this.host?.stop('the engine client was disposed');
    this.host = undefined;
    this.rejectWaiters(new EngineError('engine_stopped', 'the engine client was disposed'));
    this.setState('stopped');
  }

  private generate(signal: AbortSignal | undefined, send: (host: HostProcess, requestId: string) => Promise<GenerationResult>): GenerationStream {
    const requestId = `${this.idPrefix}-${++this.nextId}`;
    const stream = new GenerationStreamController(requestId);
    this.streams.set(requestId, stream);
    const run = async () => {
      const host = await orAbort(this.ready(), signal);
      if (host === ABORTED) return cancelledBeforeStart();
      const onAbort = () => void host.request(Requests.cancel, { requestId }).catch(() => undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        return await send(host, requestId);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    };
    run()
      .then(
        (result) => stream.finish(result),
        (error: unknown) => stream.fail(toEngineError(error)),
      )
      .finally(() => this.streams.delete(requestId));
    return stream;
  }

  /** The running host, waiting for a start or restart in progress; starts one when stopped. */
  private ready(): Promise<HostProcess> {
    if (this.disposed) return Promise.reject(new EngineError('engine_stopped', 'the engine client was disposed'));
    switch (this.currentState) {
      case 'ready':
      case 'loading':
        if (this.host) return Promise.resolve(this.host);
        break;
      case 'failed': {
        const cause = this.failure ? ` (${this.failure.kind}: ${this.failure.message})` : '';
        return Promise.reject(new EngineError('engine_failed', `the engine is stopped after repeated failures${cause}; see the log, then restart it`));
      }
      case 'stopped':
        void this.boot('starting', 0);
        break;
      case 'starting':
      case 'restarting':
        break;
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private async boot(mode: 'starting' | 'restarting', delayMs: number): Promise<void> {
    const epoch = ++this.bootEpoch;
    this.setState(mode);
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (epoch !== this.bootEpoch || this.disposed) return;
    let host: HostProcess;
    try {
      host = this.spawnHost();
    } catch (error) {
      this.fail(toEngineError(error));
      return;
    }
    this.host = host;
    const timer = setTimeout(() => host.kill(`the engine process did not answer initialize within ${this.startTimeoutMs} ms`), this.startTimeoutMs);
    try {
      const init = await host.request(Requests.initialize, { protocolVersion: PROTOCOL_VERSION, client: this.options.clientName ?? 'alloy' });
      clearTimeout(timer);
      if (init.protocolVersion !== PROTOCOL_VERSION) {
        throw new EngineError(
          'protocol_mismatch',
          `the engine host speaks protocol ${init.protocolVersion} but this client speaks protocol ${PROTOCOL_VERSION}: reinstall the extension or reload the window`,
        );
      }
      this.initialized = init;
      await this.reloadLastModel(host);
      if (epoch !== this.bootEpoch) return;
      this.setState('ready');
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w.resolve(host);
    } catch (error) {
      clearTimeout(timer);
      // A crash is handled by onHostExit (restart or give up); anything else (protocol
      // mismatch, addon missing) would fail the same way again.
      if (epoch !== this.bootEpoch || host.hasExited) return;
      host.stop('the engine could not be started');
      this.fail(toEngineError(error));
    }
  }

  /**
   * After a failed load: the host keeps its model when the new file was refused before
   * loading (not_a_file) and has none when the load itself failed. Ask, so that a restart
   * reloads exactly what the host had.
   */
  private async forgetModelIfGone(host: HostProcess): Promise<void> {
    try {
      await host.request0(Requests.modelInfo);
    } catch (error) {
      if (host === this.host && toEngineError(error).kind === 'no_model') this.lastModel = undefined;
    }
  }

  private async reloadLastModel(host: HostProcess): Promise<void> {
    const params = this.lastModel;
    if (!params) return;
    try {
      await host.request(Requests.loadModel, params);
      this.appendLog(`[client] reloaded ${params.path} after a restart`);
    } catch (error) {
      if (host.hasExited || host.stoppedOnPurpose) throw error;
      const e = toEngineError(error);
      this.failure = e;
      this.lastModel = undefined;
      this.appendLog(`[client] could not reload ${params.path} after a restart: ${e.kind}: ${e.message}`);
    }
  }

  private spawnHost(): HostProcess {
    return new HostProcess({
      hostScript: this.options.hostScript,
      execPath: this.options.execPath ?? process.execPath,
      env: { ...process.env, ...this.options.env },
      onLogLine: (line) => this.appendLog(line),
      onLog: ({ level, message }) => this.appendLog(`[${level}] ${message}`),
      onTokens: ({ requestId, ...chunk }) => this.streams.get(requestId)?.push(chunk),
      onLoadProgress: (progress) => this.progressListener?.(progress),
      onExit: (host, description) => this.onHostExit(host, description),
    });
  }

  private onHostExit(host: HostProcess, description: string): void {
    if (host !== this.host || host.stoppedOnPurpose || this.disposed) return;
    this.host = undefined;
    const now = Date.now();
    const windowMs = this.options.crashWindowMs ?? 60_000;
    this.crashTimes = [...this.crashTimes.filter((t) => now - t < windowMs), now];
    this.failure = new EngineError('engine_crashed', description);
    this.appendLog(`[client] ${description}`);
    const maxCrashes = this.options.maxCrashes ?? 3;
    if (this.crashTimes.length >= maxCrashes) {
      this.fail(new EngineError('engine_crashed', `the engine crashed ${this.crashTimes.length} times within ${windowMs / 1000} s (last: ${description}); not restarting it`));
      return;
    }
    const delays = this.options.restartDelaysMs ?? [250, 1000, 4000];
    const delay = delays[Math.min(this.crashTimes.length - 1, delays.length - 1)] ?? 0;
    void this.boot('restarting', delay);
  }

  private fail(error: EngineError): void {
    this.bootEpoch++;
    this.failure = error;
    this.appendLog(`[client] engine failed: ${error.kind}: ${error.message}`);
    this.setState('failed');
    this.rejectWaiters(error);
  }

  private rejectWaiters(error: EngineError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }

  private appendLog(line: string): void {
    this.log.add(line);
    this.options.onLog?.(line);
  }

  private setState(state: EngineState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.options.onStateChange?.(state, this.failure);
  }
}
