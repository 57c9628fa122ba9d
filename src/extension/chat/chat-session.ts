// One chat conversation, with no vscode import: the messages, the attachments of the next
// message, sending (with the oldest turns left out when the context is full, chat-trim.ts),
// streaming the reply, Stop, Regenerate, Edit last, New chat, and errors turned into a message
// and an action for the panel. The view (chat-view.ts) renders what `onState` / `onDelta` send.
import type { ChatAction, ChatAttachmentView, ChatViewMessage, ChatViewState } from './chat-protocol';
import type { StoredMessage } from './chat-history';
import { trimConversation } from './chat-trim';

export interface ChatEngineMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatEngine {
  /** The chat model's name and context, or undefined without a model. */
  model(): { name: string; contextSize: number } | undefined;
  countTokens(text: string): Promise<number>;
  /** Streams the reply to `onText`; resolves when it ends (an aborted signal ends it early). */
  chat(messages: ChatEngineMessage[], maxTokens: number, signal: AbortSignal, onText: (text: string) => void): Promise<void>;
}

/** An engine failure as the panel shows it. */
export interface ChatFailure {
  message: string;
  action?: ChatAction;
}

export interface ChatSessionOptions {
  engine: ChatEngine;
  systemPrompt: () => string;
  maxReplyTokens: () => number;
  describeError: (error: unknown) => ChatFailure;
  onState: (state: ChatViewState) => void;
  onDelta: (id: string, text: string) => void;
  /** The conversation changed (a reply finished, a message was sent or removed). */
  onSaved: (messages: StoredMessage[]) => void;
}

interface Attachment extends ChatAttachmentView {
  text: string;
}

/** Template tokens per message (role header and end marker), for the budget. */
const PER_MESSAGE_TOKENS = 8;

export class ChatSession {
  private messages: ChatViewMessage[] = [];
  private attachments: Attachment[] = [];
  private error: ChatFailure | undefined;
  private running: AbortController | undefined;
  private dropped = 0;
  private used = 0;
  private nextId = 1;
  private readonly tokenCache = new Map<string, number>();

  constructor(private readonly o: ChatSessionOptions) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  load(messages: readonly StoredMessage[]): void {
    this.messages = messages.map((m) => ({ id: this.id(), role: m.role, content: m.content }));
    void this.refresh();
  }

  attach(label: string, text: string): void {
    void this.countTokens(text).then((tokens) => {
      this.attachments.push({ id: this.id(), label, text, tokens });
      void this.refresh();
    });
  }

  removeAttachment(id: string): void {
    this.attachments = this.attachments.filter((a) => a.id !== id);
    void this.refresh();
  }

  async send(text: string): Promise<void> {
    if (this.running) return;
    const context = this.attachments.map((a) => `${a.label}:\n\`\`\`\n${a.text}\n\`\`\``).join('\n\n');
    // The attachments become part of the message (and of its token count).
    this.attachments = [];
    this.messages.push({ id: this.id(), role: 'user', content: context ? `${context}\n\n${text}` : text });
    await this.reply();
  }

  async regenerate(): Promise<void> {
    if (this.running) return;
    if (this.messages.at(-1)?.role === 'assistant') this.messages.pop();
    if (this.messages.at(-1)?.role !== 'user') return;
    await this.reply();
  }

  async editLast(text: string): Promise<void> {
    if (this.running) this.stop();
    const last = this.messages.map((m) => m.role).lastIndexOf('user');
    if (last >= 0) this.messages.splice(last);
    await this.send(text);
  }

  stop(): void {
    this.running?.abort();
  }

  newChat(): void {
    this.stop();
    this.messages = [];
    this.attachments = [];
    this.tokenCache.clear();
    this.error = undefined;
    void this.refresh();
  }

  stored(): StoredMessage[] {
    return this.messages.filter((m) => !m.streaming || m.content !== '').map((m) => ({ role: m.role, content: m.content }));
  }

  state(): ChatViewState {
    const model = this.o.engine.model();
    return {
      messages: this.messages.map((m) => ({ ...m })),
      attachments: this.attachments.map(({ id, label, tokens }) => ({ id, label, tokens })),
      budget: { used: this.used, total: model?.contextSize ?? 0 },
      droppedMessages: this.dropped,
      busy: this.busy,
      model: model?.name ?? '',
      ...(this.error ? { error: this.error } : {}),
    };
  }

  private id(): string {
    return `m${this.nextId++}`;
  }

  private async countTokens(text: string): Promise<number> {
    const hit = this.tokenCache.get(text);
    if (hit !== undefined) return hit;
    const n = await this.o.engine.countTokens(text);
    this.tokenCache.set(text, n);
    return n;
  }

  /** Which messages fit (from the newest back) and what the prompt costs with the pending attachments. */
  private async plan(): Promise<{ first: number } | { error: string }> {
    const model = this.o.engine.model();
    if (!model) return { first: 0 };
    const tokens = await Promise.all(this.messages.map((m) => this.countTokens(m.content)));
    const result = trimConversation({
      systemTokens: (await this.countTokens(this.o.systemPrompt())) + PER_MESSAGE_TOKENS,
      messages: this.messages.map((m, i) => ({ role: m.role, tokens: tokens[i] ?? 0 })),
      attachmentTokens: this.attachments.reduce((sum, a) => sum + a.tokens, 0),
      perMessageTokens: PER_MESSAGE_TOKENS,
      budget: model.contextSize - this.o.maxReplyTokens(),
    });
    this.used = result.usedTokens;
    if (!result.ok) return { error: result.reason };
    this.dropped = result.first;
    return { first: result.first };
  }

  private async reply(): Promise<void> {
    this.error = undefined;
    const controller = new AbortController();
    this.running = controller;
    const answer: ChatViewMessage = { id: this.id(), role: 'assistant', content: '', streaming: true };
    try {
      if (!this.o.engine.model()) throw Object.assign(new Error('no chat model is loaded'), { kind: 'no_model' });
      const plan = await this.plan();
      if ('error' in plan) throw Object.assign(new Error(plan.error), { kind: 'prompt_too_long' });
      const kept = this.messages.slice(plan.first).map((m) => ({ role: m.role, content: m.content }));
      this.messages.push(answer);
      this.emit();
      const system = this.o.systemPrompt();
      await this.o.engine.chat([...(system ? [{ role: 'system' as const, content: system }] : []), ...kept], this.o.maxReplyTokens(), controller.signal, (text) => {
        answer.content += text;
        this.o.onDelta(answer.id, text);
      });
      if (controller.signal.aborted) answer.stopped = true;
    } catch (e) {
      this.error = this.o.describeError(e);
      if (answer.content === '') this.messages = this.messages.filter((m) => m !== answer);
    } finally {
      answer.streaming = false;
      this.running = undefined;
      this.o.onSaved(this.stored());
      await this.refresh();
    }
  }

  private emit(): void {
    this.o.onState(this.state());
  }

  /** Recomputes the budget of the next send, then shows the state. */
  private async refresh(): Promise<void> {
    if (!this.running && this.o.engine.model()) {
      try {
        await this.plan();
      } catch {
        // The engine is away (restarting): the budget stays as it was.
      }
    }
    this.emit();
  }
}
