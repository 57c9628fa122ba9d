// The input area: the textarea (#chat-input; Enter sends, Shift+Enter adds a line, IME composition
// is left alone), Send / Stop (one shows at a time, by `busy`), Regenerate and Edit last. "Edit
// last" puts the last user message into the textarea in editing mode (banner #chat-editing; Enter
// resends it as editLast, Escape or Cancel restores the draft). The textarea keeps focus after
// sending and grows with its text; its draft survives the view being hidden (saveDraft).
import { MAX_WEBVIEW_TEXT, type ChatViewState, type FromWebview } from '../../extension/chat/chat-protocol';
import { button, element } from './dom';

export interface ComposerHooks {
  post(m: FromWebview): void;
  /** Called after a send / editLast was posted (the message list then follows the stream). */
  sent(): void;
  saveDraft(text: string): void;
}

const SECONDARY = 'chat-button chat-button-secondary';

export class Composer {
  readonly element: HTMLElement;
  readonly input: HTMLTextAreaElement;
  private readonly send = button('chat-button', { id: 'chat-send', text: 'Send', title: 'Send (Enter)' });
  private readonly stop = button('chat-button', { id: 'chat-stop', text: 'Stop', title: 'Stop generating' });
  private readonly regenerate = button(SECONDARY, { id: 'chat-regenerate', text: 'Regenerate', title: 'Generate the last answer again' });
  private readonly editLast = button(SECONDARY, { id: 'chat-edit-last', text: 'Edit last', title: 'Edit and resend your last message' });
  private readonly banner: HTMLElement;
  private busy = false;
  private lastUser: string | undefined;
  /** The draft put aside while the last message is being edited, else undefined. */
  private setAside: string | undefined;

  constructor(private readonly hooks: ComposerHooks, draft: string) {
    this.element = element('div', 'chat-composer', { id: 'chat-composer' });

    this.banner = element('div', 'chat-editing', { id: 'chat-editing' });
    this.banner.hidden = true;
    const bannerText = element('span', '', { text: 'Editing your last message: Enter resends it, Escape cancels.' });
    const cancel = button(SECONDARY, { id: 'chat-edit-cancel', text: 'Cancel', title: 'Stop editing (Escape)' });
    cancel.addEventListener('click', () => this.cancelEdit());
    this.banner.append(bannerText, cancel);

    this.input = element('textarea', 'chat-input', { id: 'chat-input' });
    this.input.rows = 1;
    this.input.maxLength = MAX_WEBVIEW_TEXT;
    this.input.placeholder = 'Ask Alloy… (Enter sends, Shift+Enter adds a line)';
    this.input.setAttribute('aria-label', 'Message');
    this.input.value = draft;
    this.input.addEventListener('keydown', (e) => this.onKey(e));
    this.input.addEventListener('input', () => {
      this.autosize();
      if (this.setAside === undefined) this.hooks.saveDraft(this.input.value);
    });

    const row = element('div', 'chat-composer-buttons');
    const spacer = element('span', 'chat-spacer');
    row.append(this.regenerate, this.editLast, spacer, this.stop, this.send);

    this.send.addEventListener('click', () => this.submit());
    this.stop.addEventListener('click', () => {
      this.hooks.post({ type: 'stop' });
      this.focus();
    });
    this.regenerate.addEventListener('click', () => {
      this.hooks.post({ type: 'regenerate' });
      this.hooks.sent();
      this.focus();
    });
    this.editLast.addEventListener('click', () => this.beginEdit());

    this.element.append(this.banner, this.input, row);
    this.update({ busy: false, messages: [] });
  }

  /** Applies the parts of the state the input area shows. */
  update(state: Pick<ChatViewState, 'busy' | 'messages'>): void {
    this.busy = state.busy;
    this.lastUser = [...state.messages].reverse().find((m) => m.role === 'user')?.content;
    this.send.hidden = state.busy;
    this.stop.hidden = !state.busy;
    this.regenerate.disabled = state.busy || this.lastUser === undefined;
    this.editLast.disabled = state.busy || this.lastUser === undefined;
    if (this.lastUser === undefined && this.setAside !== undefined) this.cancelEdit();
  }

  focus(): void {
    this.input.focus();
  }

  /** Posts the input (send, or editLast in editing mode) unless it is blank or a reply is running. */
  submit(): void {
    const text = this.input.value;
    if (this.busy || text.trim() === '') return;
    this.hooks.post(this.setAside !== undefined ? { type: 'editLast', text } : { type: 'send', text });
    this.setAside = undefined;
    this.banner.hidden = true;
    this.input.value = '';
    this.hooks.saveDraft('');
    this.autosize();
    this.hooks.sent();
    this.focus();
  }

  private onKey(e: KeyboardEvent): void {
    if (e.isComposing) return;
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      this.submit();
    } else if (e.key === 'Escape' && this.setAside !== undefined) {
      e.preventDefault();
      this.cancelEdit();
    }
  }

  private beginEdit(): void {
    if (this.busy || this.lastUser === undefined) return;
    if (this.setAside === undefined) this.setAside = this.input.value;
    this.input.value = this.lastUser;
    this.banner.hidden = false;
    this.autosize();
    this.focus();
    this.input.setSelectionRange(this.input.value.length, this.input.value.length);
  }

  private cancelEdit(): void {
    this.input.value = this.setAside ?? '';
    this.setAside = undefined;
    this.banner.hidden = true;
    this.autosize();
    this.focus();
  }

  /** Fits the textarea's height to its text (CSS max-height caps it; CSSOM, allowed by the CSP);
   *  leaves it to CSS while the textarea is not laid out (scrollHeight 0). */
  autosize(): void {
    this.input.style.height = 'auto';
    const h = this.input.scrollHeight;
    this.input.style.height = h > 0 ? `${h}px` : '';
  }
}
