/// <reference types="mocha" />
// The packaged extension (ALLOY_TEST_SUITE=vsix): the runner installs the .vsix that
// `npm run package` wrote into a fresh extensions folder and opens VS Code with only an empty
// development extension (vsix-stub/), so the Alloy running here is the installed package. With
// no model set it runs the demo model it ships, and typing gives a completion.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';

import type { Diagnostics } from '../../extension/diagnostics';
import type { CompletionStatsSnapshot } from '../../extension/extension';
import { typeKeys } from './driver';
import { waitFor } from './wait';

const EXTENSION_ID = 'alloy.alloy';

suite('Packaged extension (.vsix)', () => {
  test('the installed package activates, runs its demo model, and completes while typing', async function () {
    this.timeout(90_000);
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not installed`);
    const expectedDir = process.env['ALLOY_TEST_VSIX_EXTENSIONS'];
    assert.ok(expectedDir && extension.extensionPath.startsWith(expectedDir), `${extension.extensionPath} is not under ${expectedDir}`);
    await extension.activate();
    const diagnostics = await waitFor('the demo model', async () => {
      const d = await vscode.commands.executeCommand<Diagnostics>('alloy.showDiagnostics', { quiet: true });
      return d.model?.demo ? d : undefined;
    });
    assert.ok(diagnostics.engine.ok, 'the packaged engine does not run');
    assert.equal(path.dirname(diagnostics.model?.path ?? ''), path.join(extension.extensionPath, 'assets', 'demo'));

    const document = await vscode.workspace.openTextDocument({ language: 'python', content: '\n' });
    const editor = await vscode.window.showTextDocument(document, { preview: false });
    editor.selection = new vscode.Selection(0, 0, 0, 0);
    await new Promise((r) => setTimeout(r, 500));
    const before = (await vscode.commands.executeCommand<CompletionStatsSnapshot>('alloy.completionStats')).last.count;
    await typeKeys('# Once upon a time, there was a little girl named Lily. She');
    const shown = await waitFor('a suggestion', async () => {
      const s = await vscode.commands.executeCommand<CompletionStatsSnapshot>('alloy.completionStats');
      return s.last.count > before && s.last.text.trim().length > 0 ? s.last : undefined;
    });
    assert.ok(shown.text.length > 0);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });
});
