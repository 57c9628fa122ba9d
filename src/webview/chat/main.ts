// Entry of the chat webview (bundled to dist/webview/chat.js, loaded by the extension's HTML shell
// under a nonce CSP into <div id="root">): renders the extension's ChatViewState, streams its
// deltas, and posts the user's actions back (FromWebview). The input draft is kept in the
// webview's saved state so it survives the view being hidden and shown again.
import type { FromWebview } from '../../extension/chat/chat-protocol';
import { parseToWebview } from './incoming';
import { ChatView } from './view';

interface VsCodeApi {
  postMessage(message: FromWebview): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

interface SavedState {
  draft: string;
}

function savedDraft(saved: unknown): string {
  return typeof saved === 'object' && saved !== null && typeof (saved as Partial<SavedState>).draft === 'string' ? ((saved as SavedState).draft) : '';
}

function start(): void {
  const root = document.getElementById('root');
  if (!root) return;
  const vscode = acquireVsCodeApi();
  const view = new ChatView(
    root,
    {
      post: (m) => vscode.postMessage(m),
      saveDraft: (draft) => vscode.setState({ draft } satisfies SavedState),
    },
    savedDraft(vscode.getState()),
  );
  window.addEventListener('message', (e: MessageEvent<unknown>) => {
    const msg = parseToWebview(e.data);
    if (!msg) return;
    if (msg.type === 'state') view.render(msg.state);
    else if (msg.type === 'delta') view.delta(msg.id, msg.text);
    else view.focusInput();
  });
  vscode.postMessage({ type: 'ready' });
  view.focusInput();
}

start();
