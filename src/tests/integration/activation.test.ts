/// <reference types="mocha" />
// First integration tests: the extension activates in a real VS Code and its
// diagnostics command gets an answer from the native engine (through the
// engine host process the extension spawns).
// ALLOY_TEST_FAIL=1 makes one assertion fail on purpose, to check the failure path
// (non-zero exit code, screenshot, logs).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

import type { Diagnostics } from '../../extension/diagnostics';

const EXTENSION_ID = 'alloy.alloy';
const DIAGNOSTICS_COMMAND = 'alloy.showDiagnostics';

function assertIsDiagnostics(value: unknown): asserts value is Diagnostics {
  assert.ok(typeof value === 'object' && value !== null, `${DIAGNOSTICS_COMMAND} returned ${String(value)}`);
  const d = value as Partial<Record<keyof Diagnostics, unknown>>;
  for (const key of ['extensionVersion', 'platform', 'arch'] as const) {
    assert.equal(typeof d[key], 'string', `diagnostics.${key} must be a string: ${JSON.stringify(value)}`);
  }
  assert.ok(typeof d.engine === 'object' && d.engine !== null, `diagnostics.engine missing: ${JSON.stringify(value)}`);
}

suite('Extension activation', () => {
  let extension: vscode.Extension<unknown>;

  suiteSetup(async () => {
    const found = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(found, `${EXTENSION_ID} is not loaded (is engines.vscode newer than ${vscode.version}?)`);
    extension = found;
    // the suite starts before onStartupFinished; activate explicitly
    await extension.activate();
  });

  test('the extension is active in VS Code 1.100', () => {
    assert.equal(extension.isActive, true);
    assert.match(vscode.version, /^1\.100\./);
  });

  test('the sample workspace is open', () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.deepEqual(folders.map((f) => f.name), ['workspace']);
  });

  test(`the command ${DIAGNOSTICS_COMMAND} is registered`, async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes(DIAGNOSTICS_COMMAND), `${DIAGNOSTICS_COMMAND} is not registered`);
  });

  test(`${DIAGNOSTICS_COMMAND} reports a working native engine`, async () => {
    const diagnostics: unknown = await vscode.commands.executeCommand(DIAGNOSTICS_COMMAND);
    assertIsDiagnostics(diagnostics);
    const manifest = extension.packageJSON as { version?: unknown };
    assert.equal(diagnostics.extensionVersion, manifest.version);
    assert.equal(diagnostics.platform, process.platform);
    assert.equal(diagnostics.arch, process.arch);

    const engine = diagnostics.engine;
    assert.ok(engine.ok, `engine not available: ${engine.ok ? '' : engine.error}`);
    assert.ok(Number.isInteger(engine.protocolVersion) && engine.protocolVersion > 0,
      `protocolVersion: ${engine.protocolVersion}`);
    assert.ok(engine.engineVersion.length > 0, 'engineVersion is empty');
    assert.ok(Array.isArray(engine.cpuFeatures) && engine.cpuFeatures.every((f) => typeof f === 'string'),
      `cpuFeatures: ${JSON.stringify(engine.cpuFeatures)}`);
    // The report opens as a Markdown document beside the editor.
    const report = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'alloy-diagnostics');
    assert.ok(report, 'the diagnostics report is not open');
    assert.match(report.getText(), /^# Alloy diagnostics\n[\s\S]*## Model[\s\S]*## Recent completions/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    if (process.env['ALLOY_TEST_FAIL'] === '1') {
      assert.equal(engine.ok, false, 'ALLOY_TEST_FAIL=1 makes this assertion fail on purpose');
    }
  });
});
