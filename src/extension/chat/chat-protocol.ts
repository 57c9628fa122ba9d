// The messages between the chat webview (src/webview/chat/) and the extension, and their
// validation: the webview is untrusted input, so every message it posts is checked by type and
// shape before the extension acts on it (anything else is dropped). No vscode import.

/** An action button an error in the panel offers. */
export type ChatAction = 'loadModel' | 'restartEngine' | 'showDiagnostics';

export interface ChatViewMessage {
  id: string;
  role: 'user' | 'assistant';
  content: string;
  /** The assistant reply still streaming. */
  streaming?: boolean;
  /** The reply ended by Stop. */
  stopped?: boolean;
}

export interface ChatAttachmentView {
  id: string;
  /** "file.ts:12-30" or "file.ts". */
  label: string;
  tokens: number;
}

/** Everything the panel shows; sent whole on each change (deltas only while streaming). */
export interface ChatViewState {
  messages: ChatViewMessage[];
  attachments: ChatAttachmentView[];
  /** Prompt tokens the next send would use (system prompt, kept history, attachments), and the context. */
  budget: { used: number; total: number };
  /** Oldest messages left out of the prompt because the conversation outgrew the context. */
  droppedMessages: number;
  busy: boolean;
  /** The chat model's name ('' without one). */
  model: string;
  error?: { message: string; action?: ChatAction };
}

export type ToWebview = { type: 'state'; state: ChatViewState } | { type: 'delta'; id: string; text: string } | { type: 'focusInput' };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'send'; text: string }
  | { type: 'stop' }
  | { type: 'regenerate' }
  | { type: 'editLast'; text: string }
  | { type: 'newChat' }
  | { type: 'insertCode'; code: string }
  | { type: 'copyCode'; code: string }
  | { type: 'removeAttachment'; id: string }
  | { type: 'action'; action: ChatAction };

/** Longest text the webview may send in one message (characters). */
export const MAX_WEBVIEW_TEXT = 200_000;
const ACTIONS: readonly ChatAction[] = ['loadModel', 'restartEngine', 'showDiagnostics'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' && v.length <= MAX_WEBVIEW_TEXT ? v : undefined;
}

/** The message if it is one the webview may send, exactly (no extra keys), else undefined. */
export function parseFromWebview(raw: unknown): FromWebview | undefined {
  if (!isRecord(raw) || typeof raw['type'] !== 'string') return undefined;
  const keys = Object.keys(raw).sort().join(',');
  const only = (...names: string[]): boolean => keys === ['type', ...names].sort().join(',');
  switch (raw['type']) {
    case 'ready':
    case 'stop':
    case 'regenerate':
    case 'newChat':
      return only() ? { type: raw['type'] } : undefined;
    case 'send':
    case 'editLast': {
      const t = text(raw['text']);
      return only('text') && t !== undefined && t.trim() !== '' ? { type: raw['type'], text: t } : undefined;
    }
    case 'insertCode':
    case 'copyCode': {
      const code = text(raw['code']);
      return only('code') && code !== undefined ? { type: raw['type'], code } : undefined;
    }
    case 'removeAttachment':
      return only('id') && typeof raw['id'] === 'string' && raw['id'].length <= 64 ? { type: 'removeAttachment', id: raw['id'] } : undefined;
    case 'action': {
      const action = ACTIONS.find((a) => a === raw['action']);
      return only('action') && action ? { type: 'action', action } : undefined;
    }
    default:
      return undefined;
  }
}
