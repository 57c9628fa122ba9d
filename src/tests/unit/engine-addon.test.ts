// The addon's asynchronous surface directly (no host process): loadModel on a worker thread
// with progress and typed rejections; Engine streams the CLI's greedy tokens through a
// thread-safe function, reuses prefixes, supersedes per slot, cancels, and refuses bad input.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadAddon, type DoneEvent, type GenerateOptions, type LoadProgress, type NativeEngine, type NativeModel } from '../../engine/native';
import { runCliJson } from '../helpers/cli';
import { makeTempDir, sharedModels } from '../helpers/paths';

const modelPath = path.join(sharedModels, 'tiny-qwen2-dscoder-s1-Q8_0.gguf');
const PROMPT = 'def fibonacci(n):';

interface Run {
  tokens: number[];
  text: string;
  done: DoneEvent;
}

function run(engine: NativeEngine, options: GenerateOptions, onToken?: (index: number) => void): { id: number; result: Promise<Run> } {
  const tokens: number[] = [];
  let text = '';
  let id = -1;
  const result = new Promise<Run>((resolve, reject) => {
    id = engine.generate(options, (event) => {
      switch (event.type) {
        case 'token':
          if (event.index !== tokens.length) reject(new Error(`token ${event.index} arrived out of order`));
          tokens.push(event.token);
          text += event.text;
          onToken?.(event.index);
          break;
        case 'done':
          resolve({ tokens, text: text + event.text, done: event });
          break;
      }
    });
  });
  return { id, result };
}

describe('addon loadModel + Engine', () => {
  const addon = loadAddon();
  let model: NativeModel;
  let engine: NativeEngine;
  let prompt: number[];
  const progress: LoadProgress[] = [];

  beforeAll(async () => {
    model = await addon.loadModel(modelPath, (p) => progress.push(p));
    engine = new addon.Engine(model, { nCtx: 512, threads: 2 });
    prompt = Array.from(model.tokenize(PROMPT, true, false));
  });
  afterAll(() => {
    engine.dispose();
    model.close();
  });

  it('reports load progress in phase order, non-decreasing, ending at 1', () => {
    const phases = progress.map((p) => p.phase);
    expect(phases[0]).toBe('open');
    expect(phases).toContain('read');
    expect(phases[phases.length - 1]).toBe('bind');
    expect(progress[progress.length - 1]?.fraction).toBe(1);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.fraction).toBeGreaterThanOrEqual(progress[i - 1]!.fraction);
  });

  it('streams the same greedy tokens as the CLI, then reuses the prefix', async () => {
    const cli = runCliJson<{ tokens: number[]; text: string }>(['generate', modelPath, '--prompt', PROMPT, '--n', '24', '--temp', '0', '--threads', '2']);
    const first = await run(engine, { slot: 'completion', tokens: prompt, maxTokens: 24 }).result;
    expect(first.tokens).toEqual(cli.tokens);
    expect(first.text).toBe(cli.text);
    expect(first.done).toMatchObject({ stopReason: 'max_tokens', nPrompt: prompt.length, nReused: 0, nEvaluated: prompt.length, nGenerated: 24 });
    const again = await run(engine, { slot: 'completion', tokens: [...prompt, ...cli.tokens.slice(0, 4)], maxTokens: 4 }).result;
    expect(again.done.nReused).toBe(prompt.length + 2);
    expect(again.done.nEvaluated).toBe(2);
    expect(again.tokens).toEqual(cli.tokens.slice(4, 8));
  });

  it('a new request on a slot supersedes the running one; other slots are left alone', async () => {
    const chat = run(engine, { slot: 'chat', tokens: prompt, maxTokens: 40, ignoreEos: true });
    let second: { result: Promise<Run> } | undefined;
    const first = run(engine, { slot: 'completion', tokens: prompt, maxTokens: 400, ignoreEos: true }, (index) => {
      if (index === 2) second = run(engine, { slot: 'completion', tokens: prompt, maxTokens: 3 });
    });
    const old = await first.result;
    expect(old.done.stopReason).toBe('superseded');
    expect(old.tokens.length).toBeLessThan(400);
    expect((await second!.result).done.stopReason).toBe('max_tokens');
    expect((await chat.result).done).toMatchObject({ stopReason: 'max_tokens', nGenerated: 40 });
  });

  it('cancel ends a running request; every token it made was delivered before done', async () => {
    let cancelled = false;
    const r = run(engine, { slot: 'completion', tokens: prompt, maxTokens: 480, ignoreEos: true }, (index) => {
      if (index === 1) cancelled = engine.cancel(r.id);
    });
    const out = await r.result;
    expect(cancelled).toBe(true);
    expect(out.done.stopReason).toBe('cancelled');
    // Tokens already queued to the JS thread when cancel ran may still arrive, but the
    // worker stops before its next token: far fewer than requested.
    expect(out.tokens.length).toBeLessThan(480);
    expect(out.done.nGenerated).toBe(out.tokens.length);
    expect(engine.cancel(r.id)).toBe(false);
  });

  it('refuses bad requests with typed errors and keeps serving', async () => {
    const bad: Array<[unknown, string]> = [
      [{ slot: 'completion', tokens: new Array(513).fill(1), maxTokens: 1 }, 'prompt_too_long'],
      [{ slot: 'completion', tokens: [1, 999_999], maxTokens: 1 }, 'invalid_argument'],
      [{ slot: 'completion', tokens: [], maxTokens: 1 }, 'invalid_argument'],
      [{ slot: 'completion', tokens: [1], maxTokens: -1 }, 'invalid_argument'],
      [{ slot: 'completion', tokens: [1], maxTokens: 1, sampling: { topP: 7 } }, 'invalid_argument'],
      [{ slot: 'completion', tokens: [1], maxTokens: 1, bogus: true }, 'invalid_argument'],
      [{ tokens: [1], maxTokens: 1 }, 'invalid_argument'],
    ];
    for (const [options, kind] of bad) {
      expect(() => engine.generate(options as GenerateOptions, () => undefined)).toThrow(expect.objectContaining({ kind }));
    }
    expect((await run(engine, { slot: 'completion', tokens: prompt, maxTokens: 2 }).result).done.stopReason).toBe('max_tokens');
    const stats = engine.stats();
    expect(stats.slots.map((s) => s.name).sort()).toEqual(['chat', 'completion']);
    expect(stats.kvBytesInUse).toBeLessThanOrEqual(stats.kvBudgetBytes);
  });

  it('reports its backend: Metal on Apple Silicon, else the CPU with the reason; a bad preference is refused', () => {
    const backend = engine.stats().backend;
    expect(backend.preference).toBe('auto');
    if (process.platform === 'darwin' && process.arch === 'arm64') {
      // The macOS workflow's check that the engine really runs on the GPU (the reason shows if not).
      expect(backend).toMatchObject({ kind: 'metal', fallbackReason: '' });
      expect(backend.dispatchesPerToken).toBeGreaterThan(0);
    } else {
      expect(backend).toMatchObject({ kind: 'cpu', unifiedMemory: false, dispatchesPerToken: 0 });
      expect(backend.device).not.toBe('');
      expect(backend.fallbackReason).toMatch(/this build has no Metal backend/);
    }
    const cpuOnly = new addon.Engine(model, { nCtx: 64, threads: 1, backend: 'cpu' });
    expect(cpuOnly.stats().backend).toMatchObject({ preference: 'cpu', kind: 'cpu', fallbackReason: '' });
    cpuOnly.dispose();
    expect(() => new addon.Engine(model, { nCtx: 64, backend: 'gpu' as 'cpu' })).toThrow(/'backend' must be 'auto', 'cpu' or 'metal'/);
  });

  it('loadModel rejects a directory, a truncated file and a non-GGUF file with typed errors', async () => {
    const dir = makeTempDir('load');
    const truncated = path.join(dir, 'truncated.gguf');
    fs.writeFileSync(truncated, fs.readFileSync(modelPath).subarray(0, 4096));
    const text = path.join(dir, 'notes.gguf');
    fs.writeFileSync(text, 'not a model at all');
    await expect(addon.loadModel(sharedModels)).rejects.toMatchObject({ kind: 'io_error' });
    await expect(addon.loadModel(truncated)).rejects.toMatchObject({ kind: 'truncated_file' });
    await expect(addon.loadModel(text)).rejects.toMatchObject({ kind: 'bad_magic' });
  });

  it('dispose cancels running work and the engine refuses further use', async () => {
    const own = new addon.Engine(model, { nCtx: 512 });
    const r = run(own, { slot: 'completion', tokens: prompt, maxTokens: 480, ignoreEos: true });
    own.dispose();
    expect((await r.result).done.stopReason).toBe('cancelled');
    expect(() => own.generate({ slot: 'completion', tokens: prompt, maxTokens: 1 }, () => undefined)).toThrow(/disposed/);
  });
});
