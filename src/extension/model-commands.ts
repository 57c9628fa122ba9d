// `Alloy: Load Model…` (a file, loaded before it becomes the setting), `Alloy: Select Model`
// (downloaded, recently used, the demo), `Alloy: Unload Model`, the recently-used list, and the
// first-run offer while the shipped demo model is in use.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { EngineController } from './engine-controller';
import { CATALOGUE, RECOMMENDED_ID } from './models/catalogue';
import { modelChoices, withRecent } from './models/recent-models';
import { SETTINGS_SECTION } from './settings';
import type { AlloySettings } from './settings-schema';

const RECENT_KEY = 'alloy.recentModels';
const OFFERED_KEY = 'alloy.offeredRecommendedModel';

export function modelsFolder(context: vscode.ExtensionContext): string {
  return vscode.Uri.joinPath(context.globalStorageUri, 'models').fsPath;
}

function downloadedModels(folder: string): string[] {
  try {
    return fs
      .readdirSync(folder)
      .filter((f) => f.toLowerCase().endsWith('.gguf'))
      .sort()
      .map((f) => path.join(folder, f));
  } catch {
    return [];
  }
}

/** Remembers a model that loaded (not the demo) for `Alloy: Select Model`. */
export function rememberModel(context: vscode.ExtensionContext, modelPath: string): void {
  void context.globalState.update(RECENT_KEY, withRecent(context.globalState.get<string[]>(RECENT_KEY) ?? [], modelPath));
}

/** Once: while the demo runs, offer the recommended download (or a file of one's own). */
export function offerRecommendedModel(context: vscode.ExtensionContext): void {
  if (context.globalState.get<boolean>(OFFERED_KEY)) return;
  void context.globalState.update(OFFERED_KEY, true);
  const recommended = CATALOGUE.find((e) => e.id === RECOMMENDED_ID);
  if (!recommended) return;
  void vscode.window
    .showInformationMessage(
      `Alloy is running its tiny demo model, which writes children's stories, not code. Download ${recommended.label} (about ${(recommended.approxBytes / 1e9).toFixed(1)} GB) for real completions?`,
      'Download',
      'Choose a File…',
      'Not Now',
    )
    .then((answer) => {
      if (answer === 'Download') void vscode.commands.executeCommand('alloy.downloadModel', { url: recommended.url });
      if (answer === 'Choose a File…') void vscode.commands.executeCommand('alloy.loadModel');
    });
}

export function registerModelCommands(
  context: vscode.ExtensionContext,
  engine: EngineController,
  demoModelPath: string,
  settings: () => AlloySettings,
): vscode.Disposable[] {
  return [
    // With a path argument (scripts, tests) the file dialog is skipped. The file is loaded before
    // it becomes the setting: a file the engine refuses leaves the previous model in place.
    vscode.commands.registerCommand('alloy.loadModel', async (args?: { path?: string }): Promise<{ loaded: boolean; error?: string }> => {
      const file =
        args?.path ??
        (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'GGUF models': ['gguf'] }, title: 'Load a GGUF model' }))?.[0]?.fsPath;
      if (!file) return { loaded: false };
      const previous = settings();
      await engine.apply({ ...previous, model: { path: file } }, true);
      const now = engine.current;
      if (now.kind !== 'ready') {
        const error = now.kind === 'error' ? now.message : `${file} did not load`;
        void vscode.window.showErrorMessage(`Alloy: ${error}. The previous model stays.`);
        await engine.apply(previous, true);
        return { loaded: false, error };
      }
      await vscode.workspace.getConfiguration(SETTINGS_SECTION).update('model.path', file, vscode.ConfigurationTarget.Global);
      return { loaded: true };
    }),
    vscode.commands.registerCommand('alloy.selectModel', async () => {
      const choices = modelChoices(downloadedModels(modelsFolder(context)), context.globalState.get<string[]>(RECENT_KEY) ?? [], demoModelPath, fs.existsSync);
      const picked = await vscode.window.showQuickPick(
        choices.map((c) => ({
          label: path.basename(c.path),
          description: c.origin === 'demo' ? "demo (writes children's stories)" : c.origin,
          detail: c.path,
          choice: c,
        })),
        { title: 'Select the completion model', matchOnDetail: true },
      );
      if (!picked) return;
      const value = picked.choice.origin === 'demo' ? '' : picked.choice.path;
      if (value === settings().model.path) {
        // No setting changes, so nothing else reloads it (after an unload, say): load it here.
        await engine.apply(settings(), true);
      } else {
        await vscode.workspace.getConfiguration(SETTINGS_SECTION).update('model.path', value, vscode.ConfigurationTarget.Global);
      }
    }),
    vscode.commands.registerCommand('alloy.unloadModel', () => engine.unload()),
  ];
}
