// Wires the chat panel: the engine it talks to, its session and view, and the commands
// (open, open in an editor tab, ask about the selection, attach the current file, new chat).
import * as vscode from 'vscode';

import { EngineController } from '../engine-controller';
import type { AlloySettings } from '../settings-schema';
import { ChatEngineSelector, describeChatError } from './chat-engine';
import type { ChatViewState } from './chat-protocol';
import { ChatSession } from './chat-session';
import { CHAT_VIEW_ID, ChatView } from './chat-view';

export interface ChatWiring {
  disposables: vscode.Disposable[];
  /** Call on every settings change (and once at start). */
  apply: (settings: AlloySettings, force?: boolean) => Promise<void>;
  /** The model changed: show the panel's state again (model name, budget). */
  refresh: () => void;
}

function selectionLabel(editor: vscode.TextEditor, selection: vscode.Selection): string {
  const file = vscode.workspace.asRelativePath(editor.document.uri);
  return selection.isEmpty ? file : `${file}:${selection.start.line + 1}-${selection.end.line + 1}`;
}

export function registerChat(
  context: vscode.ExtensionContext,
  completion: EngineController,
  hostScript: string,
  settings: () => AlloySettings,
  log: (line: string) => void,
): ChatWiring {
  const engine = new ChatEngineSelector(completion, (o) => new EngineController({ hostScript, ...o }), log);
  // The session's callbacks reach the view, which needs the session to be made.
  const viewRef: { current?: ChatView } = {};
  const session = new ChatSession({
    engine,
    systemPrompt: () => settings().chat.systemPrompt,
    maxReplyTokens: () => settings().chat.maxTokens,
    describeError: describeChatError,
    onState: (state: ChatViewState) => viewRef.current?.showState(state),
    onDelta: (id, text) => viewRef.current?.showDelta(id, text),
    onSaved: (messages) => viewRef.current?.save(messages),
  });
  const chatView = new ChatView(context, session);
  viewRef.current = chatView;
  const attach = (editor: vscode.TextEditor | undefined, whole: boolean): void => {
    if (!editor) {
      void vscode.window.showWarningMessage('Alloy: open a file first.');
      return;
    }
    const selection = editor.selection;
    const text = whole || selection.isEmpty ? editor.document.getText() : editor.document.getText(selection);
    session.attach(whole ? vscode.workspace.asRelativePath(editor.document.uri) : selectionLabel(editor, selection), text);
    void vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`).then(() => chatView.focusInput());
  };
  const disposables = [
    chatView,
    { dispose: () => engine.dispose() },
    vscode.window.registerWebviewViewProvider(CHAT_VIEW_ID, chatView, { webviewOptions: { retainContextWhenHidden: true } }),
    vscode.commands.registerCommand('alloy.chat.open', () => vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`)),
    vscode.commands.registerCommand('alloy.chat.openInEditor', () => chatView.openInEditor()),
    vscode.commands.registerCommand('alloy.chat.askAboutSelection', () => attach(vscode.window.activeTextEditor, false)),
    vscode.commands.registerCommand('alloy.chat.attachFile', () => attach(vscode.window.activeTextEditor, true)),
    vscode.commands.registerCommand('alloy.chat.newChat', () => chatView.newChat()),
    vscode.commands.registerCommand('alloy.chat.history', async (args?: { id?: string }) => {
      const conversations = chatView.history.list();
      const id =
        args?.id ??
        (
          await vscode.window.showQuickPick(
            conversations.map((c) => ({ label: c.title || '(untitled)', description: `${c.messages.length} messages`, detail: new Date(c.updated).toLocaleString(), id: c.id })),
            { title: 'Alloy: open a chat of this workspace', matchOnDescription: true },
          )
        )?.id;
      if (id && chatView.openConversation(id)) await vscode.commands.executeCommand(`${CHAT_VIEW_ID}.focus`);
    }),
    // For scripts and tests (and keybindings): send, stop, insert code, and what the panel shows.
    vscode.commands.registerCommand('alloy.chat.send', (text: unknown) => (typeof text === 'string' && text.trim() ? session.send(text) : undefined)),
    vscode.commands.registerCommand('alloy.chat.stop', () => session.stop()),
    vscode.commands.registerCommand('alloy.chat.insertCode', (code: unknown) => (typeof code === 'string' ? chatView.insertCode(code) : undefined)),
    vscode.commands.registerCommand('alloy.chat.state', (): ChatViewState => session.state()),
  ];
  return {
    disposables,
    apply: async (s, force = false) => {
      await engine.apply(s, force);
      chatView.showState(session.state());
    },
    refresh: () => chatView.showState(session.state()),
  };
}
