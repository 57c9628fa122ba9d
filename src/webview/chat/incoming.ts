// Shape checks for the messages the extension posts to the webview (ToWebview). The extension is
// trusted, but window 'message' events can come from elsewhere in the webview's frame: anything
// that is not one of ours, exactly shaped, is ignored rather than half-rendered.
import type { ChatViewMessage, ChatViewState, ToWebview } from '../../extension/chat/chat-protocol';
import { ACTION_LABELS } from './view';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isMessage(v: unknown): v is ChatViewMessage {
  return (
    isRecord(v) &&
    typeof v['id'] === 'string' &&
    (v['role'] === 'user' || v['role'] === 'assistant') &&
    typeof v['content'] === 'string' &&
    (v['streaming'] === undefined || typeof v['streaming'] === 'boolean') &&
    (v['stopped'] === undefined || typeof v['stopped'] === 'boolean')
  );
}

/** An error's action: absent or one the panel has a button for. */
function isAction(v: unknown): boolean {
  return v === undefined || (typeof v === 'string' && Object.hasOwn(ACTION_LABELS, v));
}

function isState(v: unknown): v is ChatViewState {
  if (!isRecord(v)) return false;
  const budget = v['budget'];
  const error = v['error'];
  return (
    Array.isArray(v['messages']) &&
    v['messages'].every(isMessage) &&
    Array.isArray(v['attachments']) &&
    v['attachments'].every((a) => isRecord(a) && typeof a['id'] === 'string' && typeof a['label'] === 'string' && typeof a['tokens'] === 'number') &&
    isRecord(budget) &&
    typeof budget['used'] === 'number' &&
    typeof budget['total'] === 'number' &&
    typeof v['droppedMessages'] === 'number' &&
    typeof v['busy'] === 'boolean' &&
    typeof v['model'] === 'string' &&
    (error === undefined || (isRecord(error) && typeof error['message'] === 'string' && isAction(error['action'])))
  );
}

/** The message if it is a ToWebview, else undefined. */
export function parseToWebview(raw: unknown): ToWebview | undefined {
  if (!isRecord(raw)) return undefined;
  switch (raw['type']) {
    case 'state':
      return isState(raw['state']) ? { type: 'state', state: raw['state'] } : undefined;
    case 'delta':
      return typeof raw['id'] === 'string' && typeof raw['text'] === 'string' ? { type: 'delta', id: raw['id'], text: raw['text'] } : undefined;
    case 'focusInput':
      return { type: 'focusInput' };
    default:
      return undefined;
  }
}
