// The whole panel: header (model name, New chat), the message list, and the footer with the
// error box (its action button), the attachment chips (label, token count, ×), the token budget
// line and the input area. render(state) shows a whole ChatViewState; delta(...) streams text.
import type { ChatAction, ChatAttachmentView, ChatViewState, FromWebview } from '../../extension/chat/chat-protocol';
import { Composer } from './composer';
import { button, element } from './dom';
import { MessageList } from './messages';

export interface ChatViewHooks {
  post(m: FromWebview): void;
  saveDraft(text: string): void;
}

/** The label of the error box's button for each action. */
export const ACTION_LABELS: Record<ChatAction, string> = {
  loadModel: 'Load Model…',
  restartEngine: 'Restart Engine',
  showDiagnostics: 'Open Diagnostics',
};

export function budgetText(budget: ChatViewState['budget']): string {
  return `${budget.used} / ${budget.total} tokens`;
}

export class ChatView {
  readonly messages: MessageList;
  readonly composer: Composer;
  private readonly model = element('div', 'chat-model', { id: 'chat-model' });
  private readonly error = element('div', 'chat-error', { id: 'chat-error' });
  private readonly errorText = element('div', 'chat-error-message', { id: 'chat-error-message' });
  private readonly errorAction = button('chat-button', { id: 'chat-error-action' });
  private readonly chips = element('div', 'chat-attachments', { id: 'chat-attachments' });
  private readonly budget = element('div', 'chat-budget', { id: 'chat-budget' });
  private action: ChatAction | undefined;

  constructor(root: HTMLElement, private readonly hooks: ChatViewHooks, draft = '') {
    this.messages = new MessageList((m) => hooks.post(m));
    this.composer = new Composer({ post: (m) => hooks.post(m), sent: () => this.messages.follow(), saveDraft: (t) => hooks.saveDraft(t) }, draft);

    const header = element('div', 'chat-header', { id: 'chat-header' });
    const newChat = button('chat-button chat-button-secondary', { id: 'chat-new', text: 'New chat', title: 'Start a new conversation' });
    newChat.addEventListener('click', () => {
      hooks.post({ type: 'newChat' });
      this.composer.focus();
    });
    header.append(this.model, newChat);

    this.error.setAttribute('role', 'alert');
    this.error.hidden = true;
    this.errorAction.addEventListener('click', () => {
      if (this.action) hooks.post({ type: 'action', action: this.action });
    });
    this.error.append(this.errorText, this.errorAction);

    this.chips.addEventListener('click', (e) => {
      const remove = e.target instanceof Element ? e.target.closest('button.chat-chip-remove') : null;
      const id = remove?.closest<HTMLElement>('.chat-chip')?.dataset['id'];
      if (id !== undefined) hooks.post({ type: 'removeAttachment', id });
    });

    const footer = element('div', 'chat-footer', { id: 'chat-footer' });
    const meta = element('div', 'chat-meta', { id: 'chat-meta' });
    meta.append(this.chips, this.budget);
    footer.append(this.error, meta, this.composer.element);

    root.classList.add('chat-root');
    root.replaceChildren(header, this.messages.element, footer);
    this.composer.autosize();
  }

  render(state: ChatViewState): void {
    this.model.textContent = state.model === '' ? 'No chat model' : state.model;
    this.model.title = this.model.textContent;
    this.messages.render(state.messages, state.droppedMessages);
    this.renderError(state.error);
    this.renderChips(state.attachments);
    this.budget.textContent = budgetText(state.budget);
    this.budget.classList.toggle('chat-budget-full', state.budget.used >= state.budget.total && state.budget.total > 0);
    this.composer.update(state);
  }

  delta(id: string, text: string): void {
    this.messages.appendDelta(id, text);
  }

  focusInput(): void {
    this.composer.focus();
  }

  private renderError(error: ChatViewState['error']): void {
    this.error.hidden = error === undefined;
    this.errorText.textContent = error?.message ?? '';
    this.action = error?.action;
    this.errorAction.hidden = this.action === undefined;
    this.errorAction.textContent = this.action ? ACTION_LABELS[this.action] : '';
    if (this.action) this.errorAction.dataset['action'] = this.action;
    else delete this.errorAction.dataset['action'];
  }

  private renderChips(attachments: readonly ChatAttachmentView[]): void {
    this.chips.hidden = attachments.length === 0;
    this.chips.replaceChildren(
      ...attachments.map((a) => {
        const chip = element('span', 'chat-chip', { title: `${a.label} (${a.tokens} tokens)` });
        chip.dataset['id'] = a.id;
        const label = element('span', 'chat-chip-label', { text: a.label });
        const tokens = element('span', 'chat-chip-tokens', { text: `${a.tokens} tokens` });
        const remove = button('chat-chip-remove', { text: '×', title: `Remove ${a.label}` });
        remove.setAttribute('aria-label', `Remove ${a.label}`);
        chip.append(label, tokens, remove);
        return chip;
      }),
    );
  }
}
