// `Alloy: Show Diagnostics`: gathers the report (diagnostics.ts), opens it as a read-only
// Markdown document beside the editor, and offers Copy Report for bug reports. Returns the data
// so tests and scripts can read it.
import * as vscode from 'vscode';

import type { EngineController } from './engine-controller';
import { diagnosticsMemory, diagnosticsModel, engineStatusFromInitialize, formatDiagnostics, type Diagnostics } from './diagnostics';
import type { RequestLog } from './request-log';

const SCHEME = 'alloy-diagnostics';

export interface DiagnosticsSources {
  extensionVersion: string;
  engine: EngineController;
  requests: RequestLog;
}

export async function gatherDiagnostics(s: DiagnosticsSources): Promise<Diagnostics> {
  let engine: Diagnostics['engine'];
  let memory: Diagnostics['memory'];
  try {
    engine = engineStatusFromInitialize(await s.engine.client.start());
    memory = diagnosticsMemory(await s.engine.client.stats());
  } catch (e) {
    engine = { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  const loaded = s.engine.model;
  return {
    extensionVersion: s.extensionVersion,
    platform: process.platform,
    arch: process.arch,
    engine,
    ...(loaded ? { model: diagnosticsModel(loaded, s.engine.isDemo), backend: loaded.backend } : {}),
    ...(memory ? { memory } : {}),
    requests: s.requests.summary(),
    recentErrors: [...s.requests.recentErrors],
  };
}

export function registerDiagnosticsCommand(s: DiagnosticsSources, log: (line: string) => void): vscode.Disposable[] {
  let report = '';
  const changed = new vscode.EventEmitter<vscode.Uri>();
  const uri = vscode.Uri.from({ scheme: SCHEME, path: '/Alloy diagnostics.md' });
  const provider: vscode.TextDocumentContentProvider = { onDidChange: changed.event, provideTextDocumentContent: () => report };
  return [
    changed,
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, provider),
    vscode.commands.registerCommand('alloy.showDiagnostics', async (options?: { quiet?: boolean }): Promise<Diagnostics> => {
      const diagnostics = await gatherDiagnostics(s);
      // Quiet: the data only (scripts and tests poll it); no report, log line or document.
      if (options?.quiet) return diagnostics;
      report = formatDiagnostics(diagnostics);
      log(report.replaceAll('\n', ' | '));
      changed.fire(uri);
      const doc = await vscode.workspace.openTextDocument(uri);
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
      void vscode.window.showInformationMessage('Alloy: diagnostics report', 'Copy Report').then((answer) => {
        if (answer === 'Copy Report') void vscode.env.clipboard.writeText(report);
      });
      return diagnostics;
    }),
  ];
}
