// VS Code wiring only: owns the engine client and registers the commands.
import * as path from 'node:path';
import * as vscode from 'vscode';

import { EngineClient } from '../engine/client';
import { engineStatusFromInitialize, formatDiagnostics, type Diagnostics } from './diagnostics';

let engine: EngineClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Alloy');
  const extensionVersion = String((context.extension.packageJSON as { version?: unknown }).version ?? 'unknown');
  engine = new EngineClient({
    hostScript: path.join(context.extensionPath, 'dist', 'engine-host.js'),
    clientName: `alloy-vscode ${extensionVersion}`,
    onLog: (line) => output.appendLine(`[engine] ${line}`),
    onStateChange: (state, lastError) =>
      output.appendLine(`[engine] state: ${state}${state === 'failed' && lastError ? ` (${lastError.kind}: ${lastError.message})` : ''}`),
  });
  const client = engine;
  context.subscriptions.push(
    output,
    { dispose: () => client.dispose() },
    vscode.commands.registerCommand('alloy.showDiagnostics', async (): Promise<Diagnostics> => {
      let status: Diagnostics['engine'];
      try {
        status = engineStatusFromInitialize(await client.start());
      } catch (e) {
        status = { ok: false, error: e instanceof Error ? e.message : String(e) };
      }
      const diagnostics: Diagnostics = { extensionVersion, platform: process.platform, arch: process.arch, engine: status };
      output.appendLine(formatDiagnostics(diagnostics));
      output.show(true);
      return diagnostics;
    }),
  );
}

export function deactivate(): void {
  engine?.dispose();
  engine = undefined;
}
