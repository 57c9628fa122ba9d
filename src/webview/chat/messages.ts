// The message list (#chat-messages): one element per message, kept by id across state updates so
// only changed messages re-render; every message renders as markdown (a user's fenced code and
// attachments get the same Copy / Insert buttons as the answers). Streamed deltas append to the message's text and re-render it at most once per animation
// frame. The marker "N earlier messages left out (context full)" sits between the messages that
// were dropped from the prompt and the ones kept. Code block buttons post copyCode / insertCode.
import type { ChatViewMessage, FromWebview } from '../../extension/chat/chat-protocol';
import { element } from './dom';
import { codeActionOf, renderMarkdown } from './markdown';
import { ScrollFollower } from './scroll';

interface Item {
  message: ChatViewMessage;
  element: HTMLElement;
  body: HTMLElement;
  /** What the body shows now (to skip re-rendering unchanged messages). */
  shown: string;
}

/** How long a code button shows "Copied" / "Inserted" (ms). */
const BUTTON_FEEDBACK_MS = 1200;

export function droppedText(n: number): string {
  return `${n} earlier message${n === 1 ? '' : 's'} left out (context full)`;
}

export class MessageList {
  readonly element: HTMLElement;
  private readonly scroll: ScrollFollower;
  private readonly items = new Map<string, Item>();
  private readonly marker: HTMLElement;
  private readonly empty: HTMLElement;
  private layout = '';
  private readonly pending = new Set<string>();
  private frame: number | undefined;

  constructor(private readonly post: (m: FromWebview) => void) {
    this.element = element('div', 'chat-messages', { id: 'chat-messages' });
    this.element.setAttribute('role', 'log');
    this.element.setAttribute('aria-live', 'polite');
    this.scroll = new ScrollFollower(this.element);
    this.marker = element('div', 'chat-dropped', { id: 'chat-dropped' });
    this.empty = element('div', 'chat-empty', {
      id: 'chat-empty',
      text: 'Ask about your code. Enter sends, Shift+Enter adds a line.',
    });
    this.element.addEventListener('click', (e) => this.onClick(e));
  }

  /** The next change scrolls to the end even if the user had scrolled up. */
  follow(): void {
    this.scroll.follow();
  }

  /** Shows exactly these messages (state update); the first `dropped` are marked as left out. */
  render(messages: readonly ChatViewMessage[], dropped: number): void {
    this.cancelFrame();
    const ids = new Set(messages.map((m) => m.id));
    for (const id of this.items.keys()) if (!ids.has(id)) this.items.delete(id);
    const markerAt = Math.min(Math.max(0, Math.floor(dropped)), messages.length);
    this.scroll.update(() => {
      const nodes: HTMLElement[] = [];
      messages.forEach((m, i) => {
        if (i === markerAt && markerAt > 0) nodes.push(this.marker);
        const item = this.itemFor(m);
        item.element.classList.toggle('chat-message-dropped', i < markerAt);
        this.refresh(item);
        nodes.push(item.element);
      });
      if (markerAt > 0 && markerAt === messages.length) nodes.push(this.marker);
      if (messages.length === 0) nodes.push(this.empty);
      this.marker.textContent = droppedText(markerAt);
      const layout = `${markerAt}|${messages.map((m) => m.id).join('\n')}`;
      if (layout !== this.layout) {
        this.element.replaceChildren(...nodes);
        this.layout = layout;
      }
    });
  }

  /** Appends streamed text to message `id`; false if no such message is shown. */
  appendDelta(id: string, text: string): boolean {
    const item = this.items.get(id);
    if (!item) return false;
    item.message = { ...item.message, content: item.message.content + text };
    this.pending.add(id);
    if (this.frame === undefined) this.frame = requestAnimationFrame(() => this.flush());
    return true;
  }

  /** Renders the messages changed by deltas since the last frame (now). */
  flush(): void {
    this.frame = undefined;
    const ids = [...this.pending];
    this.pending.clear();
    this.scroll.update(() => {
      for (const id of ids) {
        const item = this.items.get(id);
        if (item) this.refresh(item);
      }
    });
  }

  private cancelFrame(): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    this.pending.clear();
  }

  private itemFor(message: ChatViewMessage): Item {
    const existing = this.items.get(message.id);
    if (existing && existing.message.role === message.role) {
      existing.message = message;
      return existing;
    }
    const root = element('div', `chat-message chat-message-${message.role}`);
    root.dataset['role'] = message.role;
    root.dataset['id'] = message.id;
    const role = element('div', 'chat-message-role', { text: message.role === 'user' ? 'You' : 'Alloy' });
    const body = element('div', 'chat-message-body chat-markdown');
    root.append(role, body);
    const item: Item = { message, element: root, body, shown: '' };
    this.items.set(message.id, item);
    return item;
  }

  /** Updates the item's streaming / stopped flags, and its body if what it shows changed. */
  private refresh(item: Item): void {
    const m = item.message;
    item.element.classList.toggle('chat-message-streaming', m.streaming === true);
    item.element.classList.toggle('chat-message-stopped', m.stopped === true);
    const key = `${m.streaming === true ? 1 : 0}${m.stopped === true ? 1 : 0}${m.content}`;
    if (key === item.shown) return;
    item.shown = key;
    renderMarkdown(item.body, m.content);
    if (m.stopped) {
      item.body.append(element('div', 'chat-stopped-note', { text: 'Stopped' }));
    }
  }

  private onClick(e: MouseEvent): void {
    const hit = codeActionOf(e.target);
    if (!hit) return;
    this.post(hit.action === 'copy' ? { type: 'copyCode', code: hit.code } : { type: 'insertCode', code: hit.code });
    const button = e.target instanceof Element ? e.target.closest('button') : null;
    if (button) {
      button.textContent = hit.action === 'copy' ? 'Copied' : 'Inserted';
      setTimeout(() => (button.textContent = hit.action === 'copy' ? 'Copy' : 'Insert at Cursor'), BUTTON_FEEDBACK_MS);
    }
  }
}
