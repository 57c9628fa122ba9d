// The completion session against the real engine host (tiny FIM model): engine answers are
// shaped and cached, typing into a shown suggestion needs no request, the speculative request
// answers the next keystroke's context, aborting returns null, and prefix reuse keeps the
// tokens evaluated per keystroke small.
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EngineClient } from '../../../engine/client';
import { CompletionSession, type SessionOptions } from '../../../extension/completion/completion-session';
import { ClientCompletionEngine } from '../../../extension/completion/engine-adapter';
import { engineHostPath, sharedModels } from '../../helpers/paths';
import { contextAt } from './cursor-snippet';

const MODEL = path.join(sharedModels, 'tiny-qwen2-dscoder-s1-Q8_0.gguf');
const OPTIONS: SessionOptions = {
  maxTokens: 12,
  maxLines: 1,
  timeBudgetMs: 10_000,
  debounceMaxMs: 0,
  cacheSize: 64,
  speculative: false,
  extraContextChars: 0,
};
const SNIPPET = 'import math\n\ndef area(r█\n';

function signal(): AbortSignal {
  return new AbortController().signal;
}

describe('completion session ↔ engine host', () => {
  let client: EngineClient;
  let engine: ClientCompletionEngine;

  beforeAll(async () => {
    client = new EngineClient({ hostScript: engineHostPath });
    await client.loadModel({ path: MODEL, threads: 1 });
    engine = new ClientCompletionEngine(client);
  });
  afterAll(() => client.dispose());

  it('asks the engine once, then answers the same context from the cache', async () => {
    const session = new CompletionSession(engine, OPTIONS);
    const ctx = contextAt(SNIPPET, 'python');
    const first = await session.suggest(ctx, signal());
    expect(first?.source).toBe('engine');
    const again = await session.suggest(ctx, signal());
    expect(again).toEqual(first === null ? null : { text: first.text, source: 'cache' });
    expect(session.stats).toMatchObject({ requests: 2, engineRequests: 1, cacheHits: 1 });
  });

  it('typing the start of a shown suggestion gives the rest without an engine request', async () => {
    const session = new CompletionSession(engine, OPTIONS);
    const ctx = contextAt(SNIPPET, 'python');
    const shown = await session.suggest(ctx, signal());
    expect(shown).not.toBeNull();
    session.shown(ctx, shown!);
    const typed = shown!.text.slice(0, 1);
    const next = await session.suggest(contextAt(SNIPPET.replace('█', `${typed}█`), 'python'), signal());
    expect(next).toEqual({ text: shown!.text.slice(1), source: 'typed-ahead' });
    expect(session.stats.engineRequests).toBe(1);
  });

  it('a speculative request answers the context after the shown suggestion', async () => {
    const session = new CompletionSession(engine, { ...OPTIONS, speculative: true });
    const ctx = contextAt(SNIPPET, 'python');
    const shown = await session.suggest(ctx, signal());
    session.shown(ctx, shown!);
    expect(session.stats.speculativeRequests).toBe(1);
    const accepted = contextAt(SNIPPET.replace('█', `${shown!.text}█`), 'python');
    const next = await session.suggest(accepted, signal());
    expect(['speculative', 'cache']).toContain(next?.source ?? 'cache');
    expect(session.stats.engineRequests - session.stats.speculativeRequests).toBe(1);
  });

  it('an aborted call returns null and later calls still work', async () => {
    const session = new CompletionSession(engine, OPTIONS);
    const controller = new AbortController();
    const pending = session.suggest(contextAt('fn main() {\n    let x = █\n}\n', 'rust'), controller.signal);
    controller.abort();
    expect(await pending).toBeNull();
    expect((await session.suggest(contextAt(SNIPPET, 'python'), signal()))?.source).toBe('engine');
  });

  it('keystroke after keystroke, the engine reuses the shared prefix', async () => {
    const session = new CompletionSession(engine, OPTIONS);
    const typed = 'def circumference(radius):';
    for (let i = 1; i <= typed.length; i += 5) {
      await session.suggest(contextAt(`import math\n\n${typed.slice(0, i)}█\n\nprint(1)\n`, 'python'), signal());
    }
    const { engineRequests, tokensEvaluated } = session.stats;
    // The first request evaluates the whole prompt; later ones only the tokens after the edit.
    expect(tokensEvaluated / engineRequests).toBeLessThan(20);
  });
});
