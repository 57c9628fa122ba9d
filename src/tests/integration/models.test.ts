/// <reference types="mocha" />
// Model download in a real VS Code: `Alloy: Download Model…` with a URL (the picker skipped)
// downloads stories260K from a real HTTP server on 127.0.0.1 (tests/helpers/model-server.ts)
// into the extension's global storage, checks the published SHA-256, makes it the model, and
// the engine loads it. A URL whose file fails its published SHA-256 leaves the model as it was.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { Diagnostics } from '../../extension/diagnostics';
import type { DownloadResult } from '../../extension/models/download';
import { ModelServer } from '../helpers/model-server';
import { waitFor } from './wait';

const NAME = 'stories260K.gguf';

/** Polls the diagnostics until `ok` holds for them. */
async function waitForModel(ok: (d: Diagnostics) => boolean): Promise<Diagnostics> {
  const diagnostics = async (): Promise<Diagnostics> => vscode.commands.executeCommand<Diagnostics>('alloy.showDiagnostics', { quiet: true });
  return waitFor('the model', async () => {
    const d = await diagnostics();
    return ok(d) ? d : undefined;
  }, diagnostics, 100);
}

suite('Models: download, demo, unload', () => {
  let server: ModelServer;
  let previousPath: unknown;

  suiteSetup(async () => {
    server = new ModelServer(NAME, fs.readFileSync(path.join(process.env['ALLOY_SHARED_MODELS'] ?? '', NAME)));
    await server.listen();
    previousPath = vscode.workspace.getConfiguration('alloy').get('model.path');
  });

  suiteTeardown(async () => {
    await vscode.workspace.getConfiguration('alloy').update('model.path', previousPath, vscode.ConfigurationTarget.Global);
    await server.close();
  });

  test('downloads a model over HTTP from this machine, verifies it, and makes it the model', async () => {
    const result = await vscode.commands.executeCommand<DownloadResult | undefined>('alloy.downloadModel', { url: server.resolveUrl });
    assert.ok(result, 'the download failed (see the Alloy log)');
    assert.equal(result.sha256, server.sha256);
    assert.equal(result.verified, true);
    assert.equal(path.basename(result.path), NAME);
    assert.ok(result.path.includes(`${path.sep}models${path.sep}`), result.path);
    assert.equal(vscode.workspace.getConfiguration('alloy').get('model.path'), result.path);
    await waitForModel((d) => d.model?.path === result.path);
  });

  test('with no model chosen the shipped demo model runs; Unload Model frees it', async () => {
    await vscode.workspace.getConfiguration('alloy').update('model.path', '', vscode.ConfigurationTarget.Global);
    const demo = await waitForModel((d) => d.model?.path.endsWith(path.join('assets', 'demo', NAME)) === true);
    assert.equal(demo.model?.arch, 'llama');
    assert.equal(demo.model?.demo, true);
    assert.ok(demo.memory && demo.memory.engineRssBytes > 0, JSON.stringify(demo.memory));
    await vscode.commands.executeCommand('alloy.unloadModel');
    await waitForModel((d) => d.model === undefined);
  });

  test('Select Model offers the downloaded file first and loads it', async () => {
    const picking = vscode.commands.executeCommand('alloy.selectModel');
    await new Promise((r) => setTimeout(r, 500));
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await picking;
    const selected = String(vscode.workspace.getConfiguration('alloy').get('model.path'));
    assert.ok(selected.endsWith(`${path.sep}models${path.sep}${NAME}`), selected);
    await waitForModel((d) => d.model?.path === selected);
  });

  test('Run Benchmark measures the loaded model; Restart Engine starts a new engine process; Toggle Completions flips the setting', async () => {
    const bench = await vscode.commands.executeCommand<{ promptTokensPerSecond: number; generateTokensPerSecond: number } | undefined>('alloy.runBenchmark', { runs: 1 });
    assert.ok(bench && bench.promptTokensPerSecond > 0 && bench.generateTokensPerSecond > 0, JSON.stringify(bench));
    const before = await waitForModel((d) => d.engine.ok);
    await vscode.commands.executeCommand('alloy.restartEngine');
    const after = await waitForModel((d) => d.engine.ok && d.model !== undefined);
    assert.ok(before.engine.ok && after.engine.ok && before.engine.pid !== after.engine.pid, 'the engine process did not change');
    const enabled = vscode.workspace.getConfiguration('alloy').get<boolean>('completions.enabled');
    await vscode.commands.executeCommand('alloy.toggleCompletions');
    assert.equal(vscode.workspace.getConfiguration('alloy').get<boolean>('completions.enabled'), !enabled);
    await vscode.commands.executeCommand('alloy.toggleCompletions');
    assert.equal(vscode.workspace.getConfiguration('alloy').get<boolean>('completions.enabled'), enabled);
    await vscode.commands.executeCommand('alloy.showLogs');
  });

  test('Load Model refuses a file that is not GGUF, saying why, and keeps the model; a GGUF file loads and becomes the setting', async () => {
    const config = (): vscode.WorkspaceConfiguration => vscode.workspace.getConfiguration('alloy');
    const before = config().get('model.path');
    const notGguf = path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', 'notes.md');
    const refused = await vscode.commands.executeCommand<{ loaded: boolean; error?: string }>('alloy.loadModel', { path: notGguf });
    assert.equal(refused.loaded, false);
    assert.match(refused.error ?? '', /bad_magic/);
    assert.equal(config().get('model.path'), before);
    const fim = path.join(process.env['ALLOY_SHARED_MODELS'] ?? '', 'tiny-qwen2-dscoder-s1-Q8_0.gguf');
    const loaded = await vscode.commands.executeCommand<{ loaded: boolean; error?: string }>('alloy.loadModel', { path: fim });
    assert.equal(loaded.loaded, true, loaded.error);
    assert.equal(config().get('model.path'), fim);
    await waitForModel((d) => d.model?.path === fim && d.model.fim);
  });

  test('a file that fails its published SHA-256 is refused and the model stays', async () => {
    const before = vscode.workspace.getConfiguration('alloy').get('model.path');
    server.faults = { publishedSha256: '00'.repeat(32) };
    try {
      const result = await vscode.commands.executeCommand<DownloadResult | undefined>('alloy.downloadModel', { url: server.resolveUrl });
      assert.equal(result, undefined);
    } finally {
      server.faults = {};
    }
    assert.equal(vscode.workspace.getConfiguration('alloy').get('model.path'), before);
  });
});
