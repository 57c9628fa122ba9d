// Owns the engine client for the extension: starts the engine host, loads the model the
// settings name (again when they change), and turns the client's states and the model's
// load into one status the status bar shows. No VS Code import: the wiring passes callbacks.
import * as path from 'node:path';

import { EngineClient, EngineError, type EngineState } from '../engine/client';
import { describeBackend } from '../engine/backend-report';
import type { ModelInfo } from '../engine/protocol';
import type { AlloySettings } from './settings-schema';

export type EngineStatus =
  | { kind: 'no-model' }
  | { kind: 'loading'; model: string; fraction: number }
  | { kind: 'ready'; model: string }
  | { kind: 'restarting'; model: string | undefined; reason: string }
  | { kind: 'error'; model: string | undefined; message: string };

export interface EngineControllerOptions {
  hostScript: string;
  log: (line: string) => void;
  onStatus: (status: EngineStatus) => void;
  /** The demo model shipped in the package, loaded when the settings name no model. */
  demoModelPath?: string;
}

function describe(error: unknown): string {
  if (error instanceof EngineError) return `${error.message} (${error.kind})`;
  return error instanceof Error ? error.message : String(error);
}

export class EngineController {
  readonly client: EngineClient;
  private status: EngineStatus = { kind: 'no-model' };
  private modelPath = '';
  private loaded: ModelInfo | undefined;
  /** Bumped by every load, so a slow earlier load cannot overwrite a newer status. */
  private loadEpoch = 0;

  constructor(private readonly options: EngineControllerOptions) {
    this.client = new EngineClient({
      hostScript: options.hostScript,
      clientName: 'alloy-vscode',
      onLog: (line) => options.log(`[engine] ${line}`),
      onStateChange: (state, lastError) => this.onClientState(state, lastError),
    });
  }

  get current(): EngineStatus {
    return this.status;
  }

  get model(): ModelInfo | undefined {
    return this.loaded;
  }

  /** Whether the model in use is the shipped demo (no model chosen yet). */
  get isDemo(): boolean {
    return this.modelPath !== '' && this.modelPath === this.options.demoModelPath;
  }

  /** Frees the model (`Alloy: Unload Model`) until a model is loaded or selected again. */
  async unload(): Promise<void> {
    ++this.loadEpoch;
    this.loaded = undefined;
    this.setStatus({ kind: 'no-model' });
    if (this.client.state !== 'stopped') await this.client.unloadModel();
    this.options.log('model unloaded');
  }

  /** Loads, reloads or unloads as the settings require (no-op when the model settings are unchanged). */
  async apply(settings: AlloySettings, force = false): Promise<void> {
    const wanted = settings.model.path || (this.options.demoModelPath ?? '');
    if (!force && wanted === this.modelPath && this.status.kind !== 'error') return;
    this.modelPath = wanted;
    const epoch = ++this.loadEpoch;
    if (wanted === '') {
      this.loaded = undefined;
      this.setStatus({ kind: 'no-model' });
      if (this.client.state !== 'stopped') await this.client.unloadModel().catch(() => undefined);
      return;
    }
    const name = path.basename(wanted) + (wanted === this.options.demoModelPath ? ' (demo)' : '');
    this.setStatus({ kind: 'loading', model: name, fraction: 0 });
    try {
      const info = await this.client.loadModel(
        {
          path: wanted,
          ...(settings.engine.contextSize > 0 ? { contextSize: settings.engine.contextSize } : {}),
          ...(settings.engine.threads > 0 ? { threads: settings.engine.threads } : {}),
          backend: settings.engine.backend,
        },
        { onProgress: (p) => epoch === this.loadEpoch && this.setStatus({ kind: 'loading', model: name, fraction: p.fraction }) },
      );
      if (epoch !== this.loadEpoch) return;
      this.loaded = info;
      this.options.log(`model ready: ${wanted} (${info.arch}, context ${info.contextSize}, ${info.threads} threads, FIM ${info.fim ? 'yes' : 'no'})`);
      this.options.log(describeBackend(info.backend));
      this.setStatus({ kind: 'ready', model: name });
    } catch (error) {
      if (epoch !== this.loadEpoch) return;
      this.loaded = undefined;
      const message = `could not load ${wanted}: ${describe(error)}`;
      this.options.log(message);
      this.setStatus({ kind: 'error', model: name, message });
    }
  }

  /** Restarts the engine host and loads the model again. */
  async restart(settings: AlloySettings): Promise<void> {
    this.options.log('restarting the engine');
    await this.client.restart();
    await this.apply(settings, true);
  }

  dispose(): void {
    this.client.dispose();
  }

  private onClientState(state: EngineState, lastError: EngineError | undefined): void {
    const model = this.modelPath === '' ? undefined : path.basename(this.modelPath);
    switch (state) {
      case 'restarting':
        this.options.log(`the engine stopped (${lastError ? describe(lastError) : 'unknown reason'}); restarting it`);
        this.setStatus({ kind: 'restarting', model, reason: lastError ? describe(lastError) : 'the engine stopped' });
        return;
      case 'failed':
        this.setStatus({ kind: 'error', model, message: `the engine keeps crashing: ${lastError ? describe(lastError) : 'unknown reason'} - run "Alloy: Restart Engine"` });
        return;
      case 'ready':
        // After an automatic restart the client has reloaded the model itself.
        if (this.status.kind === 'restarting') this.setStatus(model && this.loaded ? { kind: 'ready', model } : { kind: 'no-model' });
        return;
      case 'starting':
      case 'loading':
      case 'stopped':
        return;
    }
  }

  private setStatus(status: EngineStatus): void {
    this.status = status;
    this.options.onStatus(status);
  }
}
