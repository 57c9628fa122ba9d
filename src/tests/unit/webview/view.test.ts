// @vitest-environment jsdom
// The chat panel's state → DOM rendering (messages by role and id, the dropped-messages marker,
// chips, budget, error action), streamed deltas, and what the panel posts back.
import { beforeEach, describe, expect, it } from 'vitest';
import type { ChatViewState, FromWebview } from '../../../extension/chat/chat-protocol';
import { parseToWebview } from '../../../webview/chat/incoming';
import { ChatView } from '../../../webview/chat/view';

function state(over: Partial<ChatViewState> = {}): ChatViewState {
  return {
    messages: [
      { id: 'u1', role: 'user', content: 'first question' },
      { id: 'a1', role: 'assistant', content: 'first **answer**' },
      { id: 'u2', role: 'user', content: 'second <b>question</b>' },
      { id: 'a2', role: 'assistant', content: 'Use:\n\n```python\nprint(1)\n```' },
    ],
    attachments: [],
    budget: { used: 1200, total: 4096 },
    droppedMessages: 0,
    busy: false,
    model: 'qwen2.5-coder-0.5b-instruct',
    ...over,
  };
}

let posted: FromWebview[];
let root: HTMLElement;
let view: ChatView;

beforeEach(() => {
  document.body.replaceChildren();
  root = document.createElement('div');
  root.id = 'root';
  document.body.append(root);
  posted = [];
  view = new ChatView(root, { post: (m) => posted.push(m), saveDraft: () => {} });
});

const $ = <T extends Element = HTMLElement>(sel: string): T => {
  const el = root.querySelector<T>(sel);
  if (!el) throw new Error(`no ${sel}`);
  return el;
};

describe('chat view rendering', () => {
  it('renders messages with role and id, all as markdown (raw HTML in a user message stays text)', () => {
    view.render(state());
    const msgs = Array.from(root.querySelectorAll<HTMLElement>('.chat-message'));
    expect(msgs.map((m) => [m.dataset['role'], m.dataset['id']])).toEqual([
      ['user', 'u1'],
      ['assistant', 'a1'],
      ['user', 'u2'],
      ['assistant', 'a2'],
    ]);
    expect($('[data-id="u2"] .chat-message-body').textContent?.trim()).toBe('second <b>question</b>');
    expect(root.querySelector('[data-id="u2"] .chat-message-body b')).toBeNull();
    expect($('[data-id="a1"] .chat-message-body strong').textContent).toBe('answer');
    expect(root.querySelector('#chat-dropped')).toBeNull();
    expect($('#chat-model').textContent).toBe('qwen2.5-coder-0.5b-instruct');
  });

  it('shows the dropped-messages marker between the dropped and the kept messages', () => {
    view.render(state({ droppedMessages: 2 }));
    const marker = $('#chat-dropped');
    expect(marker.textContent).toBe('2 earlier messages left out (context full)');
    expect((marker.previousElementSibling as HTMLElement).dataset['id']).toBe('a1');
    expect((marker.nextElementSibling as HTMLElement).dataset['id']).toBe('u2');
    expect(root.querySelectorAll('.chat-message-dropped')).toHaveLength(2);
    view.render(state({ droppedMessages: 1 }));
    expect($('#chat-dropped').textContent).toBe('1 earlier message left out (context full)');
    view.render(state({ droppedMessages: 0 }));
    expect(root.querySelector('#chat-dropped')).toBeNull();
  });

  it('shows chips with their token counts and posts removeAttachment from ×', () => {
    view.render(state({ attachments: [
      { id: 'att1', label: 'main.ts:12-30', tokens: 210 },
      { id: 'att2', label: 'util.py', tokens: 1530 },
    ] }));
    const chips = Array.from(root.querySelectorAll<HTMLElement>('#chat-attachments .chat-chip'));
    expect(chips.map((c) => [c.dataset['id'], c.querySelector('.chat-chip-label')?.textContent, c.querySelector('.chat-chip-tokens')?.textContent])).toEqual([
      ['att1', 'main.ts:12-30', '210 tokens'],
      ['att2', 'util.py', '1530 tokens'],
    ]);
    chips[1]!.querySelector<HTMLButtonElement>('button.chat-chip-remove')!.click();
    expect(posted).toEqual([{ type: 'removeAttachment', id: 'att2' }]);
  });

  it('shows the token budget', () => {
    view.render(state());
    expect($('#chat-budget').textContent).toBe('1200 / 4096 tokens');
    expect($('#chat-budget').classList.contains('chat-budget-full')).toBe(false);
    view.render(state({ budget: { used: 4096, total: 4096 } }));
    expect($('#chat-budget').classList.contains('chat-budget-full')).toBe(true);
  });

  it('shows the error with its action button, and hides it when gone', () => {
    view.render(state({ error: { message: 'No chat model is loaded.', action: 'loadModel' } }));
    expect($('#chat-error').hidden).toBe(false);
    expect($('#chat-error .chat-error-message').textContent).toBe('No chat model is loaded.');
    const action = $<HTMLButtonElement>('#chat-error-action');
    expect(action.textContent).toBe('Load Model…');
    expect(action.dataset['action']).toBe('loadModel');
    action.click();
    expect(posted).toEqual([{ type: 'action', action: 'loadModel' }]);
    view.render(state({ error: { message: 'The engine stopped.' } }));
    expect($('#chat-error-action').hidden).toBe(true);
    view.render(state());
    expect($('#chat-error').hidden).toBe(true);
  });

  it('streams deltas into the message as markdown', () => {
    view.render(state({ busy: true, messages: [...state().messages, { id: 'a3', role: 'assistant', content: '', streaming: true }] }));
    view.delta('a3', 'Here:\n\n```js\nconst a');
    view.delta('a3', ' = 1;\n```');
    view.messages.flush();
    const a3 = $('[data-id="a3"]');
    expect(a3.classList.contains('chat-message-streaming')).toBe(true);
    expect(a3.querySelector('.chat-code-block pre > code')?.textContent).toBe('const a = 1;');
    view.render(state({ messages: [...state().messages, { id: 'a3', role: 'assistant', content: 'Here: done', stopped: true }] }));
    expect(a3.classList.contains('chat-message-streaming')).toBe(false);
    expect(a3.querySelector('.chat-stopped-note')?.textContent).toBe('Stopped');
  });

  it('posts insertCode and copyCode with the raw code from a code block', () => {
    view.render(state());
    $<HTMLButtonElement>('[data-id="a2"] button[data-code-action="insert"]').click();
    $<HTMLButtonElement>('[data-id="a2"] button[data-code-action="copy"]').click();
    expect(posted).toEqual([
      { type: 'insertCode', code: 'print(1)' },
      { type: 'copyCode', code: 'print(1)' },
    ]);
  });
});

describe('chat input', () => {
  const key = (init: KeyboardEventInit): KeyboardEvent => new KeyboardEvent('keydown', { bubbles: true, cancelable: true, ...init });

  it('Enter sends and keeps focus; Shift+Enter does not send', () => {
    view.render(state());
    const input = $<HTMLTextAreaElement>('#chat-input');
    input.focus();
    input.value = 'line one';
    const shift = key({ key: 'Enter', shiftKey: true });
    input.dispatchEvent(shift);
    expect(shift.defaultPrevented).toBe(false);
    expect(posted).toEqual([]);
    const enter = key({ key: 'Enter' });
    input.dispatchEvent(enter);
    expect(enter.defaultPrevented).toBe(true);
    expect(posted).toEqual([{ type: 'send', text: 'line one' }]);
    expect(input.value).toBe('');
    expect(document.activeElement).toBe(input);
    input.dispatchEvent(key({ key: 'Enter' }));
    expect(posted).toHaveLength(1);
  });

  it('shows Stop instead of Send while busy and does not send then', () => {
    view.render(state({ busy: true }));
    expect($('#chat-send').hidden).toBe(true);
    expect($('#chat-stop').hidden).toBe(false);
    expect($<HTMLButtonElement>('#chat-regenerate').disabled).toBe(true);
    const input = $<HTMLTextAreaElement>('#chat-input');
    input.value = 'more';
    input.dispatchEvent(key({ key: 'Enter' }));
    $<HTMLButtonElement>('#chat-stop').click();
    expect(posted).toEqual([{ type: 'stop' }]);
  });

  it('Send, Regenerate and New chat post their messages', () => {
    view.render(state());
    $<HTMLTextAreaElement>('#chat-input').value = 'hi';
    $<HTMLButtonElement>('#chat-send').click();
    $<HTMLButtonElement>('#chat-regenerate').click();
    $<HTMLButtonElement>('#chat-new').click();
    expect(posted).toEqual([{ type: 'send', text: 'hi' }, { type: 'regenerate' }, { type: 'newChat' }]);
  });

  it('Edit last puts the last user message in the input and resends it as editLast', () => {
    view.render(state());
    const input = $<HTMLTextAreaElement>('#chat-input');
    input.value = 'my draft';
    $<HTMLButtonElement>('#chat-edit-last').click();
    expect(input.value).toBe('second <b>question</b>');
    expect($('#chat-editing').hidden).toBe(false);
    input.dispatchEvent(key({ key: 'Escape' }));
    expect(input.value).toBe('my draft');
    expect($('#chat-editing').hidden).toBe(true);
    $<HTMLButtonElement>('#chat-edit-last').click();
    input.value = 'second question, edited';
    input.dispatchEvent(key({ key: 'Enter' }));
    expect(posted).toEqual([{ type: 'editLast', text: 'second question, edited' }]);
    expect($('#chat-editing').hidden).toBe(true);
  });
});

describe('messages from the extension', () => {
  it('accepts well-formed messages and rejects others', () => {
    expect(parseToWebview({ type: 'state', state: state() })).toEqual({ type: 'state', state: state() });
    expect(parseToWebview({ type: 'delta', id: 'a', text: 'x' })).toEqual({ type: 'delta', id: 'a', text: 'x' });
    expect(parseToWebview({ type: 'focusInput' })).toEqual({ type: 'focusInput' });
    expect(parseToWebview({ type: 'delta', id: 1, text: 'x' })).toBeUndefined();
    expect(parseToWebview({ type: 'state', state: { ...state(), messages: [{ id: 'x', role: 'system', content: '' }] } })).toBeUndefined();
    expect(parseToWebview({ type: 'state', state: { ...state(), error: { message: 'm', action: 'rm -rf' } } })).toBeUndefined();
    expect(parseToWebview('state')).toBeUndefined();
  });
});
