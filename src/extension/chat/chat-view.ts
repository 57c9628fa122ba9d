// The chat panel's VS Code side: a WebviewView in its own activity-bar container (and the same
// panel as an editor tab), its HTML shell with a strict Content-Security-Policy and a nonce,
// messages from the webview validated (chat-protocol.ts) and routed to the ChatSession, code
// inserted at the cursor of the last text editor, conversations kept per workspace.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

import { ChatHistory } from './chat-history';
import { parseFromWebview, type ChatViewState, type FromWebview, type ToWebview } from './chat-protocol';
import type { ChatSession } from './chat-session';

export const CHAT_VIEW_ID = 'alloy.chatView';
const CURRENT_KEY = 'alloy.chat.current';
const ACTION_COMMANDS = { loadModel: 'alloy.loadModel', restartEngine: 'alloy.restartEngine', showDiagnostics: 'alloy.showDiagnostics' } as const;

export class ChatView implements vscode.WebviewViewProvider, vscode.Disposable {
  private readonly webviews = new Set<vscode.Webview>();
  private readonly disposables: vscode.Disposable[] = [];
  private lastEditor: vscode.TextEditor | undefined = vscode.window.activeTextEditor;
  private conversationId: string;
  readonly history: ChatHistory;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly session: ChatSession,
  ) {
    this.history = new ChatHistory(context.workspaceState);
    const current = context.workspaceState.get<string>(CURRENT_KEY);
    const stored = this.history.list().find((c) => c.id === current);
    this.conversationId = stored?.id ?? newId();
    if (stored) session.load(stored.messages);
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((e) => {
        if (e) this.lastEditor = e;
      }),
    );
  }

  /** The ChatSession's onState / onDelta / onSaved go here. */
  showState(state: ChatViewState): void {
    this.post({ type: 'state', state });
  }

  showDelta(id: string, text: string): void {
    this.post({ type: 'delta', id, text });
  }

  save(messages: { role: 'user' | 'assistant'; content: string }[]): void {
    void this.history.save(this.conversationId, messages);
    void this.context.workspaceState.update(CURRENT_KEY, this.conversationId);
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.attach(view.webview, view.onDidDispose);
  }

  /** The panel as an editor tab. */
  openInEditor(): void {
    const panel = vscode.window.createWebviewPanel('alloy.chatPanel', 'Alloy Chat', vscode.ViewColumn.Beside, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [this.webviewRoot()],
    });
    this.attach(panel.webview, panel.onDidDispose);
  }

  newChat(): void {
    this.session.newChat();
    this.conversationId = newId();
    void this.context.workspaceState.update(CURRENT_KEY, this.conversationId);
  }

  /** Makes a stored conversation the current one (`Alloy: Chat History`). */
  openConversation(id: string): boolean {
    const stored = this.history.list().find((c) => c.id === id);
    if (!stored) return false;
    this.session.stop();
    this.conversationId = stored.id;
    this.session.load(stored.messages);
    void this.context.workspaceState.update(CURRENT_KEY, this.conversationId);
    return true;
  }

  focusInput(): void {
    this.post({ type: 'focusInput' });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private webviewRoot(): vscode.Uri {
    return vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'webview');
  }

  private attach(webview: vscode.Webview, onDispose: vscode.Event<void>): void {
    webview.options = { enableScripts: true, localResourceRoots: [this.webviewRoot()] };
    webview.html = this.html(webview);
    this.webviews.add(webview);
    this.disposables.push(
      webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseFromWebview(raw);
        if (message) void this.handle(message, webview);
      }),
      onDispose(() => this.webviews.delete(webview)),
    );
  }

  private html(webview: vscode.Webview): string {
    const nonce = randomBytes(16).toString('base64');
    const src = webview.cspSource;
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.webviewRoot(), 'chat.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.webviewRoot(), 'chat.css'));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${src}; script-src 'nonce-${nonce}'; img-src ${src} data:; font-src ${src};">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Alloy Chat</title>
</head>
<body>
<div id="root"></div>
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  private post(message: ToWebview): void {
    for (const w of this.webviews) void w.postMessage(message);
  }

  private async handle(message: FromWebview, from: vscode.Webview): Promise<void> {
    switch (message.type) {
      case 'ready':
        void from.postMessage({ type: 'state', state: this.session.state() } satisfies ToWebview);
        return;
      case 'send':
        return this.session.send(message.text);
      case 'stop':
        return this.session.stop();
      case 'regenerate':
        return this.session.regenerate();
      case 'editLast':
        return this.session.editLast(message.text);
      case 'newChat':
        return this.newChat();
      case 'removeAttachment':
        return this.session.removeAttachment(message.id);
      case 'copyCode':
        await vscode.env.clipboard.writeText(message.code);
        return;
      case 'insertCode':
        return this.insertCode(message.code);
      case 'action':
        await vscode.commands.executeCommand(ACTION_COMMANDS[message.action]);
        return;
    }
  }

  /** Replaces the selections of the last text editor with `code` (inserts at the cursor). */
  async insertCode(code: string): Promise<void> {
    const editor = this.lastEditor;
    if (!editor || editor.document.isClosed) {
      void vscode.window.showWarningMessage('Alloy: open a file and place the cursor where the code should go.');
      return;
    }
    await vscode.window.showTextDocument(editor.document, editor.viewColumn);
    await editor.edit((b) => {
      for (const s of editor.selections) b.replace(s, code);
    });
  }
}

function newId(): string {
  return randomBytes(8).toString('hex');
}
