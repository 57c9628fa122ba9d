// The whole panel: header (model name, New chat), the message list, and the footer with the
// error box (its action button), the attachment chips (label, token count, ×), the token budget
// line and the input area. render(state) shows a whole ChatViewState; delta(...) streams text.
import type { ChatAction, ChatAttachmentView, ChatViewState, FromWebview } from '../../extension/chat/chat-protocol';
import { Composer } from './composer';
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

function div(id: string, className: string): HTMLDivElement {
  const d = document.createElement('div');
  d.id = id;
  d.className = className;
  return d;
}

export function budgetText(budget: ChatViewState['budget']): string {
  return `${budget.used} / ${budget.total} tokens`;
}

export class ChatView {
  readonly messages: MessageList;
  readonly composer: Composer;
  private readonly model = div('chat-model', 'chat-model');
  private readonly error = div('chat-error', 'chat-error');
  private readonly errorText = div('chat-error-message', 'chat-error-message');
  private readonly errorAction = document.createElement('button');
  private readonly chips = div('chat-attachments', 'chat-attachments');
  private readonly budget = div('chat-budget', 'chat-budget');
  private action: ChatAction | undefined;

  constructor(root: HTMLElement, private readonly hooks: ChatViewHooks, draft = '') {
    this.messages = new MessageList((m) => hooks.post(m));
    this.composer = new Composer({ post: (m) => hooks.post(m), sent: () => this.messages.follow(), saveDraft: (t) => hooks.saveDraft(t) }, draft);

    const header = div('chat-header', 'chat-header');
    const newChat = document.createElement('button');
    newChat.type = 'button';
    newChat.id = 'chat-new';
    newChat.className = 'chat-button chat-button-secondary';
    newChat.textContent = 'New chat';
    newChat.title = 'Start a new conversation';
    newChat.addEventListener('click', () => {
      hooks.post({ type: 'newChat' });
      this.composer.focus();
    });
    header.append(this.model, newChat);

    this.error.setAttribute('role', 'alert');
    this.error.hidden = true;
    this.errorAction.type = 'button';
    this.errorAction.id = 'chat-error-action';
    this.errorAction.className = 'chat-button';
    this.errorAction.addEventListener('click', () => {
      if (this.action) hooks.post({ type: 'action', action: this.action });
    });
    this.error.append(this.errorText, this.errorAction);

    this.chips.addEventListener('click', (e) => {
      const remove = e.target instanceof Element ? e.target.closest('button.chat-chip-remove') : null;
      const id = remove?.closest<HTMLElement>('.chat-chip')?.dataset['id'];
      if (id !== undefined) hooks.post({ type: 'removeAttachment', id });
    });

    const footer = div('chat-footer', 'chat-footer');
    const meta = div('chat-meta', 'chat-meta');
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
        const chip = document.createElement('span');
        chip.className = 'chat-chip';
        chip.dataset['id'] = a.id;
        chip.title = `${a.label} (${a.tokens} tokens)`;
        const label = document.createElement('span');
        label.className = 'chat-chip-label';
        label.textContent = a.label;
        const tokens = document.createElement('span');
        tokens.className = 'chat-chip-tokens';
        tokens.textContent = `${a.tokens} tokens`;
        const remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'chat-chip-remove';
        remove.textContent = '×';
        remove.title = `Remove ${a.label}`;
        remove.setAttribute('aria-label', `Remove ${a.label}`);
        chip.append(label, tokens, remove);
        return chip;
      }),
    );
  }
}
