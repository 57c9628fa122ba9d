// VS Code wiring only: owns the engine client and registers the commands.
import * as path from 'node:path';
import * as vscode from 'vscode';

import { EngineClient } from '../engine/engine-client';
import { engineStatusFromHello, formatDiagnostics, type Diagnostics } from './diagnostics';

let engine: EngineClient | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const output = vscode.window.createOutputChannel('Alloy');
  engine = new EngineClient({
    hostScript: path.join(context.extensionPath, 'dist', 'engine-host.js'),
    onStderr: (line) => output.appendLine(`[engine] ${line}`),
  });
  const client = engine;
  context.subscriptions.push(
    output,
    { dispose: () => client.dispose() },
    vscode.commands.registerCommand('alloy.showDiagnostics', async (): Promise<Diagnostics> => {
      const extensionVersion = String((context.extension.packageJSON as { version?: unknown }).version ?? 'unknown');
      let status: Diagnostics['engine'];
      try {
        status = engineStatusFromHello(await client.request('hello'));
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
