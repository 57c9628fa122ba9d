// The status bar item (state, model, last latency and tokens/s) and its quick menu.
import * as vscode from 'vscode';

import { statusView, type StatusInput, type StatusView } from './status-view';

export const STATUS_MENU_COMMAND = 'alloy.statusMenu';

interface MenuItem extends vscode.QuickPickItem {
  command: string;
}

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('alloy.status', vscode.StatusBarAlignment.Right, 100);
  private view: StatusView | undefined;

  constructor() {
    this.item.name = 'Alloy';
    this.item.command = STATUS_MENU_COMMAND;
    this.item.show();
  }

  /** The state shown now (tests read it through the alloy.completionStats command). */
  get state(): StatusView['state'] | undefined {
    return this.view?.state;
  }

  render(input: StatusInput): void {
    const view = statusView(input);
    this.view = view;
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.backgroundColor =
      view.severity === 'error'
        ? new vscode.ThemeColor('statusBarItem.errorBackground')
        : view.severity === 'warning'
          ? new vscode.ThemeColor('statusBarItem.warningBackground')
          : undefined;
  }

  static async showMenu(completionsEnabled: boolean): Promise<void> {
    const items: MenuItem[] = [
      { label: completionsEnabled ? '$(circle-slash) Turn completions off' : '$(check) Turn completions on', command: 'alloy.toggleCompletions' },
      { label: '$(file) Load model…', command: 'alloy.loadModel' },
      { label: '$(debug-restart) Restart engine', command: 'alloy.restartEngine' },
      { label: '$(pulse) Show diagnostics', command: 'alloy.showDiagnostics' },
      { label: '$(output) Show logs', command: 'alloy.showLogs' },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: 'Alloy' });
    if (picked) await vscode.commands.executeCommand(picked.command);
  }

  dispose(): void {
    this.item.dispose();
  }
}
