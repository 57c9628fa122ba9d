// The engine host's request handlers: every protocol method, its params validated first,
// every failure answered as a typed JSON-RPC error (data.kind), counted for `stats`.
import * as os from 'node:os';

import type { MessageConnection } from 'vscode-jsonrpc/node';

import { loadAddon, type NativeAddon } from '../native';
import {
  isMethodName,
  METHOD_NAMES,
  Notifications,
  PROTOCOL_VERSION,
  SLOT_OF,
  type ChatParams,
  type CompleteParams,
  type GenerationResult,
  type InitializeParams,
  type InitializeResult,
  type LogLevel,
  type MethodName,
  type ParamsOf,
  type ResultOf,
  type StatsResult,
} from '../protocol';
import { validateParams } from '../protocol-validation';
import { HostError, toResponseError } from './host-error';
import { Generations } from './generations';
import { ModelSession } from './model-session';
import { chatPrompt, completionPrompt } from './prompts';

type Handlers = { [M in MethodName]: (params: ParamsOf<M>) => ResultOf<M> | Promise<ResultOf<M>> };

/**
 * Threads when loadModel names none, for `logical` logical CPUs: all of them up to 4 (a 2-core
 * laptop or VM keeps both cores busy), else half (one per physical core with SMT, the
 * performance cores of most hybrid CPUs), between 4 and 8 (decode is bound by memory bandwidth,
 * which a few cores already saturate).
 */
export function defaultThreadsFor(logical: number): number {
  if (logical <= 4) return Math.max(1, logical);
  return Math.min(8, Math.max(4, Math.floor(logical / 2)));
}

export function defaultThreads(): number {
  return defaultThreadsFor(os.availableParallelism());
}

export class EngineHost {
  private readonly startedAt = performance.now();
  private readonly counts = { served: 0, cancelled: 0, failed: 0 };
  private readonly generations: Generations;
  private readonly session: ModelSession;
  private addon: NativeAddon | undefined;
  private stopping = false;

  constructor(
    private readonly connection: MessageConnection,
    /** Ends the process once the last answer is written (see engine-host.ts). */
    private readonly exit: () => void,
  ) {
    this.generations = new Generations((tokens) => void this.connection.sendNotification(Notifications.tokens, tokens));
    this.session = new ModelSession({
      addon: () => this.nativeAddon(),
      defaultThreads: defaultThreads(),
      beforeUnload: () => this.generations.stopAll(),
      log: (message) => this.log('info', message),
    });
  }

  private readonly handlers: Handlers = {
    initialize: (p) => this.initialize(p),
    loadModel: (p) => this.session.load(p, (progress) => void this.connection.sendNotification(Notifications.loadProgress, progress)),
    unloadModel: () => {
      this.session.assertNotLoading();
      this.session.unload();
      return {};
    },
    modelInfo: () => this.session.current().info,
    tokenize: (p) => ({ tokens: Array.from(this.session.current().model.tokenize(p.text, p.addSpecial ?? true, p.parseSpecial ?? false)) }),
    complete: (p) => this.complete(p),
    chat: (p) => this.chat(p),
    cancel: (p) => ({ cancelled: this.generations.cancel(p.requestId) }),
    stats: () => this.stats(),
    shutdown: () => {
      this.stop();
      return {};
    },
  };

  /** The connection's request handler: validates, runs, and turns every failure into a typed error answer. */
  async handle(method: string, params: unknown): Promise<unknown> {
    try {
      if (!isMethodName(method)) {
        throw new HostError('unknown_method', `unknown method '${method}': the engine host answers ${METHOD_NAMES.join(', ')}`);
      }
      const result = await this.call(method, params);
      this.counts.served++;
      return result;
    } catch (e) {
      this.recordFailure();
      const error = toResponseError(e);
      if (error.data?.kind === 'internal') this.log('error', `${method} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      throw error;
    }
  }

  /** A request that never reached a handler (bad frame, not JSON-RPC) was answered with an error. */
  recordFailure(): void {
    this.counts.failed++;
  }

  /** Settles running generations, frees the model and ends the process (shutdown, or stdin closed). */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    try {
      this.session.unload();
    } finally {
      this.exit();
    }
  }

  log(level: LogLevel, message: string): void {
    void this.connection.sendNotification(Notifications.log, { level, message });
  }

  private call<M extends MethodName>(method: M, params: unknown): ResultOf<M> | Promise<ResultOf<M>> {
    const handler: Handlers[M] = this.handlers[method];
    return handler(validateParams(method, params));
  }

  private nativeAddon(): NativeAddon {
    this.addon ??= loadAddon();
    return this.addon;
  }

  private initialize(params: InitializeParams): InitializeResult {
    if (params.protocolVersion !== PROTOCOL_VERSION) {
      throw new HostError(
        'protocol_mismatch',
        `the client speaks protocol ${params.protocolVersion} but this engine host speaks protocol ${PROTOCOL_VERSION}: the extension's files are from different versions - reinstall the extension or reload the window`,
      );
    }
    const addon = this.nativeAddon();
    this.log('info', `initialized by ${params.client}`);
    return {
      protocolVersion: PROTOCOL_VERSION,
      engineVersion: addon.engineVersion,
      backend: 'cpu',
      simd: addon.cpuFeatures,
      defaultThreads: defaultThreads(),
      pid: process.pid,
    };
  }

  private complete(params: CompleteParams): Promise<GenerationResult> {
    const { model, engine, info } = this.session.current();
    const tokens = completionPrompt(model, info.contextSize, params);
    const slot = params.speculative === true ? SLOT_OF.speculative : SLOT_OF.complete;
    return this.counted(this.generations.run(engine, params.requestId, { slot, tokens, params }));
  }

  private chat(params: ChatParams): Promise<GenerationResult> {
    const { model, engine, info } = this.session.current();
    const tokens = chatPrompt(model, info.contextSize, params);
    return this.counted(this.generations.run(engine, params.requestId, { slot: SLOT_OF.chat, tokens, params }));
  }

  private async counted(generation: Promise<GenerationResult>): Promise<GenerationResult> {
    const result = await generation;
    if (result.stopReason === 'cancelled' || result.stopReason === 'superseded') this.counts.cancelled++;
    return result;
  }

  private stats(): StatsResult {
    return {
      pid: process.pid,
      uptimeMs: performance.now() - this.startedAt,
      rssBytes: process.memoryUsage.rss(),
      model: this.session.info(),
      engine: this.session.engineStats(),
      requests: { ...this.counts },
    };
  }
}
