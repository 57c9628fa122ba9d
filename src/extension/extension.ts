// VS Code wiring only: settings, the engine controller, inline completions, the status bar
// and the commands. Logic that can be pure lives in modules without a vscode import.
import * as path from 'node:path';
import * as vscode from 'vscode';

import { EngineError } from '../engine/client';
import { CompletionFeature } from './completion-feature';
import { registerBenchmarkCommand } from './benchmark-command';
import { registerChat, type ChatWiring } from './chat/chat-commands';
import { registerDiagnosticsCommand } from './diagnostics-command';
import { EngineController, type EngineStatus } from './engine-controller';
import { offerRecommendedModel, registerModelCommands, rememberModel } from './model-commands';
import { registerDownloadCommand } from './model-download-command';
import { RequestLog } from './request-log';
import { readSettings, SETTINGS_SECTION } from './settings';
import { needsReload, type AlloySettings } from './settings-schema';
import { STATUS_MENU_COMMAND, StatusBar } from './status-bar';
import type { StatusInput } from './status-view';

/** What `alloy.completionStats` returns (integration tests read it). */
export interface CompletionStatsSnapshot {
  state: string | undefined;
  session: CompletionFeature['stats'];
  last: CompletionFeature['lastSuggestion'];
}

let controller: EngineController | undefined;

/** The demo model in the package (assets/demo/, with its licence): Karpathy's stories260K. */
export const DEMO_MODEL_FILE = 'stories260K.gguf';

/** Once per model file: a model without FIM tokens completes from the text before the cursor only. */
function noticeIfNoFim(context: vscode.ExtensionContext, engine: EngineController): void {
  const model = engine.model;
  if (!model || model.fim) return;
  const key = `alloy.noFimNotice:${model.path}`;
  if (context.globalState.get<boolean>(key)) return;
  void context.globalState.update(key, true);
  void vscode.window.showInformationMessage(
    `Alloy: ${path.basename(model.path)} has no fill-in-the-middle tokens, so completions only see the text before the cursor. ` +
      'For suffix-aware completion use a FIM model such as Qwen2.5-Coder (base, e.g. 1.5B Q8_0).',
  );
}

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Alloy', { log: true });
  const extensionVersion = String((context.extension.packageJSON as { version?: unknown }).version ?? 'unknown');
  let settings: AlloySettings = readSettings(output);
  const statusBar = new StatusBar();
  const status: StatusInput = { status: { kind: 'no-model' }, completionsEnabled: settings.completions.enabled, activity: 'idle', last: undefined };
  const render = (): void => statusBar.render({ ...status, completionsEnabled: settings.completions.enabled });
  const reportedErrors = new Set<string>();
  const requests = new RequestLog();

  const demoModelPath = path.join(context.extensionPath, 'assets', 'demo', DEMO_MODEL_FILE);
  const hostScript = path.join(context.extensionPath, 'dist', 'engine-host.js');
  // The chat panel is wired after the completion engine; its status callback may fire before.
  const chatRef: { current?: ChatWiring } = {};
  const engineController = new EngineController({
    hostScript,
    demoModelPath,
    log: (line) => output.info(line),
    onStatus: (s: EngineStatus) => {
      status.status = s;
      if (s.kind === 'error') requests.addError(s.message);
      chatRef.current?.refresh();
      if (s.kind !== 'ready') feature.modelChanged();
      if (s.kind === 'ready') {
        reportedErrors.clear();
        const loaded = engineController.model;
        if (engineController.isDemo) {
          offerRecommendedModel(context);
        } else if (loaded) {
          rememberModel(context, loaded.path);
          noticeIfNoFim(context, engineController);
        }
      }
      render();
    },
  });
  controller = engineController;
  const feature = new CompletionFeature(engineController, () => settings, {
    onActivity: (activity) => {
      status.activity = activity;
      render();
    },
    onFigures: (figures) => {
      status.last = figures;
      requests.addRequest(figures);
      render();
    },
    // Errors go to the log (once per kind until the engine is ready again) and the status bar, never a modal.
    onError: (error) => {
      const kind = error instanceof EngineError ? error.kind : 'internal';
      const message = `completion failed: ${error instanceof Error ? error.message : String(error)}`;
      requests.addError(message);
      if (reportedErrors.has(kind)) return;
      reportedErrors.add(kind);
      output.error(message);
    },
  });
  render();
  void engineController.apply(settings);
  const chat = registerChat(context, engineController, hostScript, () => settings, (line) => output.info(line));
  chatRef.current = chat;
  void chat.apply(settings);

  context.subscriptions.push(
    ...chat.disposables,
    output,
    statusBar,
    feature,
    { dispose: () => engineController.dispose() },
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (!event.affectsConfiguration(SETTINGS_SECTION)) return;
      const previous = settings;
      settings = readSettings(output);
      feature.settingsChanged();
      render();
      // A new model path loads by itself; a change of threads, context size or backend reloads
      // the same model.
      const reload = previous.model.path === settings.model.path && needsReload(previous, settings);
      void engineController.apply(settings, reload);
      void chat.apply(settings, reload);
    }),
    vscode.commands.registerCommand(STATUS_MENU_COMMAND, () => StatusBar.showMenu(settings.completions.enabled)),
    vscode.commands.registerCommand('alloy.toggleCompletions', () =>
      vscode.workspace.getConfiguration(SETTINGS_SECTION).update('completions.enabled', !settings.completions.enabled, vscode.ConfigurationTarget.Global),
    ),
    registerDownloadCommand(context, (line) => output.info(line)),
    registerBenchmarkCommand(engineController, (line) => output.info(line)),
    ...registerModelCommands(context, engineController, demoModelPath, () => settings),
    vscode.commands.registerCommand('alloy.restartEngine', () => engineController.restart(settings)),
    vscode.commands.registerCommand('alloy.showLogs', () => output.show(true)),
    vscode.commands.registerCommand('alloy.completionStats', (): CompletionStatsSnapshot => ({ state: statusBar.state, session: feature.stats, last: feature.lastSuggestion })),
    ...registerDiagnosticsCommand({ extensionVersion, engine: engineController, requests }, (line) => output.debug(line)),
  );
}

export function deactivate(): void {
  controller?.dispose();
  controller = undefined;
}
