/// <reference types="mocha" />
// Inline completions in a real VS Code with a tiny FIM model (../shared/models): keystrokes
// typed into an editor produce ghost text equal to the engine's greedy FIM output for that
// context (checked by accepting it with Tab); Escape dismisses it; typing the first
// characters of a suggestion keeps it without a new engine request; a killed engine shows an
// error state and recovers. A screenshot of the ghost text is saved (code-server route).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { EngineClient } from '../../engine/client';
import type { Diagnostics } from '../../extension/diagnostics';
import type { CompletionStatsSnapshot } from '../../extension/extension';
import { shapeSuggestion } from '../../extension/completion/quality-rules';
import { documentContext } from '../../extension/inline-provider';
import { parseSettings } from '../../extension/settings-schema';
import { pressKey, screenshot, typeKeys } from './driver';
import { waitFor as waitUntil } from './wait';

const MODEL = path.join(process.env['ALLOY_SHARED_MODELS'] ?? '', 'tiny-qwen2-dscoder-s1-Q8_0.gguf');
const SETTINGS: Record<string, unknown> = {
  'model.path': MODEL,
  'completions.maxTokens': 12,
  'completions.maxLines': 1,
  'completions.extraContext.chars': 0,
  'completions.speculative': false,
};

async function stats(): Promise<CompletionStatsSnapshot> {
  return vscode.commands.executeCommand<CompletionStatsSnapshot>('alloy.completionStats');
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return waitUntil(what, probe, async () => ({ stats: await stats() }));
}

/**
 * Waits until the provider has returned a suggestion after `count` earlier ones for the cursor
 * line `linePrefix` (the text before the cursor): a suggestion for a state typed on the way there
 * (the machine slow between two keystrokes) does not count.
 */
async function nextSuggestion(count: number, linePrefix: string): Promise<CompletionStatsSnapshot['last']> {
  return waitFor(`a suggestion after "${linePrefix}"`, async () => {
    const s = await stats();
    return s.last.count > count && s.last.linePrefix === linePrefix ? s.last : undefined;
  });
}

function engineRequests(s: CompletionStatsSnapshot): number {
  return (s.session?.engineRequests ?? 0) - (s.session?.speculativeRequests ?? 0);
}

suite('Inline completions', () => {
  let editor: vscode.TextEditor;
  let oracle: EngineClient;

  suiteSetup(async function () {
    this.timeout(60_000);
    const extension = vscode.extensions.getExtension('alloy.alloy');
    assert.ok(extension);
    await extension.activate();
    const config = vscode.workspace.getConfiguration('alloy');
    for (const [key, value] of Object.entries(SETTINGS)) await config.update(key, value, vscode.ConfigurationTarget.Global);
    await waitFor('the model to be ready', async () => ((await stats()).state === 'ready' ? true : undefined));
    oracle = new EngineClient({ hostScript: path.join(extension.extensionPath, 'dist', 'engine-host.js'), clientName: 'integration-oracle' });
    await oracle.loadModel({ path: MODEL, threads: 1 });
  });

  suiteTeardown(async () => {
    oracle?.dispose();
    const config = vscode.workspace.getConfiguration('alloy');
    for (const key of Object.keys(SETTINGS)) await config.update(key, undefined, vscode.ConfigurationTarget.Global);
  });

  setup(async () => {
    const document = await vscode.workspace.openTextDocument({ language: 'python', content: 'import math\n\n\n' });
    editor = await vscode.window.showTextDocument(document, { preview: false });
    editor.selection = new vscode.Selection(2, 0, 2, 0);
    // The selection reaches the workbench asynchronously: type only once it is there.
    await new Promise((r) => setTimeout(r, 500));
  });

  teardown(async () => {
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  /** The cursor's line as it will be once `text` is inserted at the cursor (auto-closed brackets stay after it). */
  function lineWithInsert(text: string): string {
    const line = editor.document.lineAt(editor.selection.active.line).text;
    const at = editor.selection.active.character;
    return line.slice(0, at) + text + line.slice(at);
  }

  /** Presses Tab and waits for the cursor's line to become `expected`. */
  async function acceptAndExpect(expected: string): Promise<void> {
    const lineNo = editor.selection.active.line;
    await pressKey('Tab');
    await waitFor(`Tab to make the line "${expected}"`, async () => (editor.document.lineAt(lineNo).text === expected ? true : undefined));
  }

  /** The engine's greedy FIM output for the editor's current context, shaped as the provider shapes it. */
  async function expectedSuggestion(): Promise<string | null> {
    const config = vscode.workspace.getConfiguration('alloy');
    const { settings } = parseSettings((key) => config.get(key));
    const ctx = documentContext(editor.document, editor.selection.active, settings);
    const result = await oracle.complete({
      prefix: ctx.prefix,
      suffix: ctx.suffix,
      chunks: [],
      filePath: ctx.filePath,
      maxTokens: settings.completions.maxTokens,
      timeBudgetMs: settings.completions.timeBudgetMs,
    }).result;
    return shapeSuggestion(result.text, ctx, { maxLines: settings.completions.maxLines });
  }

  test('typing produces ghost text equal to the greedy FIM output, and Tab inserts it', async () => {
    const before = (await stats()).last.count;
    await typeKeys('def area(r');
    const shown = await nextSuggestion(before, 'def area(r');
    await new Promise((r) => setTimeout(r, 300)); // let VS Code render it
    const expected = await expectedSuggestion();
    assert.equal(shown.text, expected, 'the suggestion differs from the engine greedy output for this context');
    await screenshot('ghost-text');
    assert.ok(editor.document.lineAt(2).text.startsWith('def area(r'), `typed text missing: ${editor.document.lineAt(2).text}`);
    await acceptAndExpect(lineWithInsert(shown.text));
  });

  test('completion is suffix-aware: the FIM prompt carries the text after the cursor', async () => {
    await editor.edit((b) => b.insert(new vscode.Position(3, 0), 'print(area(2))\n'));
    editor.selection = new vscode.Selection(2, 0, 2, 0);
    await new Promise((r) => setTimeout(r, 300));
    const before = (await stats()).last.count;
    await typeKeys('def area(r');
    const shown = await nextSuggestion(before, 'def area(r');
    const config = vscode.workspace.getConfiguration('alloy');
    const ctx = documentContext(editor.document, editor.selection.active, parseSettings((key) => config.get(key)).settings);
    assert.match(ctx.suffix, /print\(area\(2\)\)/);
    assert.equal(shown.text, await expectedSuggestion(), 'the suggestion differs from the greedy FIM output for prefix + suffix');
    // The suffix is in the prompt: the same prefix without it makes a shorter prompt.
    const prompt = async (suffix: string): Promise<number> =>
      (await oracle.complete({ prefix: ctx.prefix, suffix, chunks: [], filePath: ctx.filePath, maxTokens: 1 }).result).nPrompt;
    assert.ok((await prompt(ctx.suffix)) > (await prompt('')), 'the suffix did not reach the prompt');
    await screenshot('suffix-aware');
  });

  test('Escape dismisses the suggestion', async () => {
    const before = (await stats()).last.count;
    await typeKeys('x = math.');
    const shown = await nextSuggestion(before, 'x = math.');
    await new Promise((r) => setTimeout(r, 300));
    await pressKey('Escape');
    await new Promise((r) => setTimeout(r, 300));
    await pressKey('Tab');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!editor.document.lineAt(2).text.includes(shown.text), `Tab after Escape still inserted "${shown.text}"`);
  });

  test('typing the start of a suggestion keeps the rest without a new engine request', async () => {
    const before = (await stats()).last.count;
    await typeKeys('def volume(h');
    const shown = await nextSuggestion(before, 'def volume(h');
    assert.ok(shown.text.length >= 2, `need a suggestion of 2+ characters to type into, got "${shown.text}"`);
    const requests = engineRequests(await stats());
    await typeKeys(shown.text.slice(0, 1));
    const kept = await nextSuggestion(before + 1, `def volume(h${shown.text.slice(0, 1)}`);
    assert.equal(kept.source, 'typed-ahead');
    assert.equal(kept.text, shown.text.slice(1));
    assert.equal(engineRequests(await stats()), requests, 'typing into the suggestion sent a new engine request');
    await acceptAndExpect(lineWithInsert(kept.text));
    assert.ok(editor.document.lineAt(2).text.startsWith(`def volume(h${shown.text}`));
  });

  test('a killed engine shows an error state, then recovers and completes again', async function () {
    this.timeout(60_000);
    const diagnostics = await vscode.commands.executeCommand<Diagnostics>('alloy.showDiagnostics', { quiet: true });
    assert.ok(diagnostics.engine.ok, 'the engine is not running');
    // The loaded model's backend: Metal on Apple Silicon, else the CPU saying why not Metal.
    const appleSilicon = process.platform === 'darwin' && process.arch === 'arm64';
    assert.equal(diagnostics.backend?.kind, appleSilicon ? 'metal' : 'cpu', JSON.stringify(diagnostics.backend));
    if (!appleSilicon) assert.match(diagnostics.backend?.fallbackReason ?? '', /no Metal backend/);
    // The figures of the completions the tests above made, and the model's details.
    assert.ok(diagnostics.requests.count > 0 && diagnostics.requests.p50Ms !== null, JSON.stringify(diagnostics.requests));
    assert.ok(diagnostics.requests.prefixReuseRate !== null, 'no prefix reuse figure');
    assert.equal(diagnostics.model?.fim, true);
    assert.ok((diagnostics.model?.tensorTypes['Q8_0'] ?? 0) > 0, JSON.stringify(diagnostics.model));
    process.kill(diagnostics.engine.pid, 'SIGKILL');
    await waitFor('the error state', async () => {
      const state = (await stats()).state;
      return state === 'restarting' || state === 'error' ? state : undefined;
    });
    await waitFor('the engine to recover', async () => ((await stats()).state === 'ready' ? true : undefined));
    const before = (await stats()).last.count;
    await typeKeys('y = 2');
    await nextSuggestion(before, 'y = 2');
  });
});
