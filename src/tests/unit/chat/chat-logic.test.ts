// The chat panel's pure logic: context trimming, webview message validation, per-workspace history.
import { describe, expect, it } from 'vitest';

import { ChatHistory, MAX_CONVERSATIONS } from '../../../extension/chat/chat-history';
import { MAX_WEBVIEW_TEXT, parseFromWebview } from '../../../extension/chat/chat-protocol';
import { trimConversation } from '../../../extension/chat/chat-trim';

const turn = (role: 'user' | 'assistant', tokens: number): { role: 'user' | 'assistant'; tokens: number } => ({ role, tokens });

describe('context trimming', () => {
  const base = { systemTokens: 10, attachmentTokens: 0, perMessageTokens: 2 };

  it('keeps everything that fits', () => {
    const r = trimConversation({ ...base, messages: [turn('user', 5), turn('assistant', 5), turn('user', 5)], budget: 100 });
    expect(r).toEqual({ ok: true, first: 0, usedTokens: 10 + 2 + 3 * 7 });
  });

  it('drops the oldest whole turns, starting the kept part at a user message', () => {
    const messages = [turn('user', 20), turn('assistant', 30), turn('user', 10), turn('assistant', 10), turn('user', 5)];
    const r = trimConversation({ ...base, messages, budget: 50 });
    expect(r).toEqual({ ok: true, first: 2, usedTokens: 10 + 2 + 12 + 12 + 7 });
    const tighter = trimConversation({ ...base, messages, budget: 30 });
    expect(tighter).toEqual({ ok: true, first: 4, usedTokens: 10 + 2 + 7 });
  });

  it('says why when even the newest message with its attachments does not fit', () => {
    const r = trimConversation({ ...base, attachmentTokens: 500, messages: [turn('user', 5)], budget: 100 });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/need 519 tokens but the context has room for 100/);
  });
});

describe('webview message validation', () => {
  it('accepts exactly the protocol messages', () => {
    expect(parseFromWebview({ type: 'send', text: 'hi' })).toEqual({ type: 'send', text: 'hi' });
    expect(parseFromWebview({ type: 'stop' })).toEqual({ type: 'stop' });
    expect(parseFromWebview({ type: 'insertCode', code: 'x = 1' })).toEqual({ type: 'insertCode', code: 'x = 1' });
    expect(parseFromWebview({ type: 'action', action: 'restartEngine' })).toEqual({ type: 'action', action: 'restartEngine' });
    expect(parseFromWebview({ type: 'removeAttachment', id: 'm3' })).toEqual({ type: 'removeAttachment', id: 'm3' });
  });

  it('drops anything else: unknown types, extra keys, wrong types, empty or oversized text, unknown actions', () => {
    for (const bad of [
      null,
      'send',
      [],
      { type: 'eval', code: '1' },
      { type: 'stop', extra: 1 },
      { type: 'send', text: 42 },
      { type: 'send', text: '   ' },
      { type: 'send', text: 'x'.repeat(MAX_WEBVIEW_TEXT + 1) },
      { type: 'action', action: 'deleteEverything' },
      { type: 'removeAttachment', id: 'x'.repeat(65) },
    ]) {
      expect(parseFromWebview(bad), JSON.stringify(bad)?.slice(0, 80)).toBeUndefined();
    }
  });
});

describe('chat history', () => {
  const store = (): { get<T>(k: string): T | undefined; update(k: string, v: unknown): Promise<void> } => {
    const m = new Map<string, unknown>();
    return { get: <T>(k: string) => m.get(k) as T | undefined, update: async (k, v) => void m.set(k, v) };
  };

  it('keeps conversations newest first with a title from the first user message, at most MAX_CONVERSATIONS', async () => {
    const h = new ChatHistory(store());
    await h.save('a', [{ role: 'user', content: 'How do I sort a list?' }, { role: 'assistant', content: 'sorted(xs)' }], 1);
    await h.save('b', [{ role: 'user', content: 'x'.repeat(100) }], 2);
    expect(h.list().map((c) => c.id)).toEqual(['b', 'a']);
    expect(h.latest()?.title).toHaveLength(60);
    await h.save('a', [{ role: 'user', content: 'How do I sort a list?' }], 3);
    expect(h.list().map((c) => [c.id, c.title])).toEqual([['a', 'How do I sort a list?'], ['b', h.list()[1]?.title]]);
    for (let i = 0; i < MAX_CONVERSATIONS + 5; i++) await h.save(`c${i}`, [{ role: 'user', content: `q${i}` }], 10 + i);
    expect(h.list()).toHaveLength(MAX_CONVERSATIONS);
    await h.save('c60', [], 100); // emptied: forgotten
    expect(h.list().some((c) => c.id === 'c60')).toBe(false);
  });

  it('skips malformed stored entries', () => {
    const s = store();
    void s.update('alloy.chat.conversations', [{ id: 1 }, { id: 'ok', title: 't', updated: 1, messages: [{ role: 'user', content: 'q' }] }]);
    expect(new ChatHistory(s).list().map((c) => c.id)).toEqual(['ok']);
  });
});
