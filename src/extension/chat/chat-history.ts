// Conversations kept per workspace (VS Code's workspaceState, behind a small interface so tests
// use a Map), newest first, at most MAX_CONVERSATIONS. No vscode import.

export interface StoredMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface Conversation {
  id: string;
  title: string;
  updated: number;
  messages: StoredMessage[];
}

export interface KeyValueStore {
  get<T>(key: string): T | undefined;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

export const MAX_CONVERSATIONS = 50;
const KEY = 'alloy.chat.conversations';
const TITLE_CHARS = 60;

function isMessage(m: unknown): m is StoredMessage {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return (r['role'] === 'user' || r['role'] === 'assistant') && typeof r['content'] === 'string';
}

function isConversation(c: unknown): c is Conversation {
  if (typeof c !== 'object' || c === null) return false;
  const r = c as Record<string, unknown>;
  return typeof r['id'] === 'string' && typeof r['title'] === 'string' && typeof r['updated'] === 'number' && Array.isArray(r['messages']) && r['messages'].every(isMessage);
}

export class ChatHistory {
  constructor(private readonly store: KeyValueStore) {}

  /** Stored conversations, newest first (malformed entries are skipped). */
  list(): Conversation[] {
    const raw = this.store.get<unknown[]>(KEY);
    return Array.isArray(raw) ? raw.filter(isConversation) : [];
  }

  latest(): Conversation | undefined {
    return this.list()[0];
  }

  /** Saves (or replaces) a conversation as the newest; empty ones are not kept. */
  async save(id: string, messages: readonly StoredMessage[], now = Date.now()): Promise<void> {
    const rest = this.list().filter((c) => c.id !== id);
    if (messages.length === 0) {
      await this.store.update(KEY, rest);
      return;
    }
    const first = messages.find((m) => m.role === 'user')?.content.trim().replace(/\s+/g, ' ') ?? '';
    const title = first.length > TITLE_CHARS ? `${first.slice(0, TITLE_CHARS - 1)}…` : first;
    const entry: Conversation = { id, title, updated: now, messages: messages.map((m) => ({ role: m.role, content: m.content })) };
    await this.store.update(KEY, [entry, ...rest].slice(0, MAX_CONVERSATIONS));
  }
}
