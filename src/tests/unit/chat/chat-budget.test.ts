// The chat budget counts an attachment once: before sending as a pending attachment, after
// sending as part of the message that carries it (a word-counting engine makes it exact).
import { describe, expect, it } from 'vitest';

import { describeChatError } from '../../../extension/chat/chat-engine';
import type { ChatViewState } from '../../../extension/chat/chat-protocol';
import { ChatSession, type ChatEngine } from '../../../extension/chat/chat-session';

const words = (text: string): number => text.split(/\s+/).filter(Boolean).length;

const engine: ChatEngine = {
  model: () => ({ name: 'words', contextSize: 1000 }),
  countTokens: async (text) => words(text),
  chat: async (_messages, _max, _signal, onText) => onText('fine thanks'),
};

describe('chat budget', () => {
  it('counts attachments once, before and after sending', async () => {
    const states: ChatViewState[] = [];
    const session = new ChatSession({
      engine,
      systemPrompt: () => 'be brief',
      maxReplyTokens: () => 100,
      describeError: describeChatError,
      onState: (s) => states.push(s),
      onDelta: () => undefined,
      onSaved: () => undefined,
    });
    const perMessage = 8;
    const system = 2 + perMessage;
    session.attach('a.py:1-2', 'x = 1\ny = 2');
    await new Promise((r) => setTimeout(r, 0));
    await new Promise((r) => setTimeout(r, 0));
    // system + the attachment (6 words) + the template of the message still to be written
    expect(session.state().budget.used).toBe(system + 6 + perMessage);
    await session.send('why?');
    const sent = session.state();
    const user = sent.messages[0]?.content ?? '';
    expect(user).toBe('a.py:1-2:\n```\nx = 1\ny = 2\n```\n\nwhy?');
    // the sent message (attachment inside) and the reply, then the next message's template
    expect(sent.budget.used).toBe(system + words(user) + perMessage + words('fine thanks') + perMessage + perMessage);
    expect(sent.attachments).toEqual([]);
  });

  it('a message that fits with its attachment counted once is sent, not refused', async () => {
    // system 10 + template 8 + the message with its attachment (11 words) + 8 = 37 <= 140 - 100
    const tight: ChatEngine = { ...engine, model: () => ({ name: 'words', contextSize: 140 }) };
    const session = new ChatSession({
      engine: tight,
      systemPrompt: () => 'be brief',
      maxReplyTokens: () => 100,
      describeError: describeChatError,
      onState: () => undefined,
      onDelta: () => undefined,
      onSaved: () => undefined,
    });
    session.attach('a.py:1-2', 'x = 1\ny = 2');
    await new Promise((r) => setTimeout(r, 0));
    await session.send('why?');
    expect(session.state().error).toBeUndefined();
    expect(session.state().messages.map((m) => m.content.split('\n').at(-1))).toEqual(['why?', 'fine thanks']);
  });
});
