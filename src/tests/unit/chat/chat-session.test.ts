// ChatSession + ChatEngineSelector against the real engine host and a tiny chat model: the
// streamed reply equals the engine's greedy chat output for the same messages, Stop ends a reply
// early and keeps what streamed, Regenerate and Edit last replace the right messages, and a
// conversation larger than the context leaves its oldest turns out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EngineClient } from '../../../engine/client';
import { ChatEngineSelector, describeChatError } from '../../../extension/chat/chat-engine';
import type { ChatViewState } from '../../../extension/chat/chat-protocol';
import { ChatSession } from '../../../extension/chat/chat-session';
import { EngineController } from '../../../extension/engine-controller';
import { parseSettings } from '../../../extension/settings-schema';
import { CHAT_MODEL, TEST_THREADS } from '../../helpers/engine-models';
import { engineHostPath } from '../../helpers/paths';

const settingsFor = (maxTokens: number, contextSize: number): ReturnType<typeof parseSettings>['settings'] =>
  parseSettings((k) => ({ 'model.path': CHAT_MODEL, 'engine.threads': TEST_THREADS, 'engine.contextSize': contextSize, 'chat.maxTokens': maxTokens })[k]).settings;

describe('chat session on the real engine', () => {
  const controller = new EngineController({ hostScript: engineHostPath, log: () => undefined, onStatus: () => undefined });
  const engine = new ChatEngineSelector(controller, (o) => new EngineController({ hostScript: engineHostPath, ...o }), () => undefined);
  const oracle = new EngineClient({ hostScript: engineHostPath, clientName: 'chat-session.test' });
  let maxTokens = 24;
  let stopOnFirstDelta = false;
  const states: ChatViewState[] = [];
  const deltas: string[] = [];
  const session = new ChatSession({
    engine,
    systemPrompt: () => 'You are terse.',
    maxReplyTokens: () => maxTokens,
    describeError: describeChatError,
    onState: (s) => states.push(s),
    onDelta: (_id, text) => {
      deltas.push(text);
      if (stopOnFirstDelta) session.stop();
    },
    onSaved: () => undefined,
  });

  beforeAll(async () => {
    await controller.apply(settingsFor(24, 256), true);
    await oracle.loadModel({ path: CHAT_MODEL, contextSize: 256, threads: TEST_THREADS });
  });
  afterAll(() => {
    controller.dispose();
    engine.dispose();
    oracle.dispose();
  });

  const greedy = async (messages: { role: 'system' | 'user' | 'assistant'; content: string }[], n: number): Promise<string> =>
    (await oracle.chat({ messages, maxTokens: n }).result).text;

  it('streams the greedy reply for the rendered conversation, then keeps history for the next turn', async () => {
    await session.send('Write a haiku about rust.');
    const first = session.state().messages;
    expect(first.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(first[1]?.content).toBe(await greedy([{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Write a haiku about rust.' }], 24));
    expect(deltas.join('')).toBe(first[1]?.content);
    await session.send('Shorter.');
    const second = session.state().messages;
    expect(second[3]?.content).toBe(
      await greedy([{ role: 'system', content: 'You are terse.' }, ...second.slice(0, 3).map((m) => ({ role: m.role, content: m.content }))], 24),
    );
    expect(session.state().budget.total).toBe(256);
    expect(session.state().budget.used).toBeGreaterThan(0);
  });

  it('Regenerate replaces the last reply; Edit last replaces the last question and its reply', async () => {
    const before = session.state().messages.length;
    await session.regenerate();
    expect(session.state().messages).toHaveLength(before);
    await session.editLast('Longer.');
    const after = session.state().messages;
    expect(after).toHaveLength(before);
    expect(after.at(-2)?.content).toBe('Longer.');
  });

  it('Stop ends the reply early and keeps what streamed', async () => {
    maxTokens = 200;
    session.newChat();
    stopOnFirstDelta = true;
    await session.send('Tell me everything.');
    stopOnFirstDelta = false;
    const reply = session.state().messages[1];
    expect(reply?.stopped).toBe(true);
    expect(reply?.content.length).toBeGreaterThan(0);
    expect(session.state().busy).toBe(false);
    maxTokens = 24;
  });

  it('leaves the oldest turns out when the conversation outgrows the context, and says so', async () => {
    session.newChat();
    maxTokens = 64;
    for (let i = 0; i < 6; i++) await session.send(`Question number ${i}: ${'please explain '.repeat(6)}`);
    const state = session.state();
    expect(state.droppedMessages).toBeGreaterThan(0);
    expect(state.error).toBeUndefined();
    expect(state.budget.used).toBeLessThanOrEqual(256 - 64);
  });
});
