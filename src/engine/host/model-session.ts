// The loaded model of the engine host: the NativeModel, the generation Engine over it, and
// what `modelInfo` reports. One load at a time; a new load replaces the current model
// (unloaded first, so two models never share the memory).
import * as fs from 'node:fs';

import type { EngineStats, LoadProgress, NativeAddon, NativeEngine, NativeModel } from '../native';
import type { LoadModelParams, ModelInfo } from '../protocol';
import { describeBackend } from '../backend-report';
import { HostError } from './host-error';

/** Context per slot when loadModel names none: the model's training context, at most this. */
export const DEFAULT_CONTEXT_SIZE = 4096;

export interface LoadedModel {
  model: NativeModel;
  engine: NativeEngine;
  info: ModelInfo;
}

export interface ModelSessionOptions {
  addon: () => NativeAddon;
  defaultThreads: number;
  /** Called before the engine goes away, so running generations are settled first. */
  beforeUnload: () => void;
  log: (message: string) => void;
}

export class ModelSession {
  private loaded: LoadedModel | undefined;
  private loading: string | undefined;

  constructor(private readonly options: ModelSessionOptions) {}

  /** Throws busy_loading while a load runs. */
  assertNotLoading(): void {
    if (this.loading !== undefined) {
      throw new HostError('busy_loading', `a model is being loaded (${this.loading}); retry when loadModel has answered`);
    }
  }

  /** The loaded model; throws busy_loading during a load and no_model without one. */
  current(): LoadedModel {
    this.assertNotLoading();
    if (!this.loaded) throw new HostError('no_model', 'no model is loaded: send loadModel first');
    return this.loaded;
  }

  info(): ModelInfo | null {
    return this.loaded?.info ?? null;
  }

  engineStats(): EngineStats | null {
    return this.loaded?.engine.stats() ?? null;
  }

  async load(params: LoadModelParams, onProgress: (progress: LoadProgress) => void): Promise<ModelInfo> {
    if (this.loading !== undefined) {
      throw new HostError('busy_loading', `a model is already being loaded (${this.loading}); wait for that loadModel to answer`);
    }
    this.loading = params.path;
    try {
      const fileSizeBytes = checkModelFile(params.path);
      this.unload();
      const addon = this.options.addon();
      const t0 = performance.now();
      const model = await addon.loadModel(params.path, onProgress);
      try {
        const info = model.info();
        const contextSize = params.contextSize ?? Math.min(info.n_ctx_train ?? DEFAULT_CONTEXT_SIZE, DEFAULT_CONTEXT_SIZE);
        const threads = params.threads ?? this.options.defaultThreads;
        const engine = new addon.Engine(model, {
          nCtx: contextSize,
          threads,
          ...(params.kvBudgetMb !== undefined ? { kvBudgetBytes: params.kvBudgetMb * 1024 * 1024 } : {}),
          backend: params.backend ?? 'auto',
        });
        const backend = engine.stats().backend;
        const loadMs = performance.now() - t0;
        this.loaded = {
          model,
          engine,
          info: {
            path: params.path,
            arch: info.arch,
            nVocab: info.n_vocab,
            nCtxTrain: info.n_ctx_train,
            nLayer: info.n_layer,
            nEmbd: info.n_embd,
            contextSize,
            threads,
            fim: info.fim,
            hasChatTemplate: info.chat_template,
            tensorTypes: info.tensor_types,
            fileSizeBytes,
            loadMs,
            backend,
          },
        };
        this.options.log(`loaded ${params.path} (${info.arch}, context ${contextSize}, ${threads} threads) in ${loadMs.toFixed(0)} ms`);
        this.options.log(describeBackend(backend));
        return this.loaded.info;
      } catch (e) {
        model.close();
        throw e;
      }
    } finally {
      this.loading = undefined;
    }
  }

  /** Settles running generations, then frees the engine and the model. No-op without a model. */
  unload(): void {
    const loaded = this.loaded;
    if (!loaded) return;
    this.options.beforeUnload();
    this.loaded = undefined;
    loaded.engine.dispose();
    loaded.model.close();
    this.options.log(`unloaded ${loaded.info.path}`);
  }
}

/** The file's size; a directory or other non-file is `not_a_file` (missing files are left to the engine's io_error). */
function checkModelFile(path: string): number {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(path);
  } catch {
    return 0;
  }
  if (stat.isDirectory()) throw new HostError('not_a_file', `'${path}' is a directory, not a GGUF model file: pass the path of the .gguf file`);
  if (!stat.isFile()) throw new HostError('not_a_file', `'${path}' is not a regular file: pass the path of a .gguf model file`);
  return stat.size;
}
