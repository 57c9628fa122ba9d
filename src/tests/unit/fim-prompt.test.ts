// buildFimPrompt with real tokenizers (the addon's Model on vocab-only GGUFs and on the tiny
// model that carries the Qwen2.5-Coder added tokens).
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildFimPrompt, FimPromptError, type FimInput, type FimPrompt } from '../../engine/fim-prompt';
import { loadAddon, type NativeModel } from '../../engine/native';
import { sharedModels, vocabPath } from '../helpers/paths';

// Token ids of the Qwen2.5-Coder vocab (see /work/shared/models/README.md).
const QWEN_FIM_PREFIX = 151659;
const QWEN_FIM_MIDDLE = 151660;
const QWEN_FIM_SUFFIX = 151661;
const QWEN_REPO_NAME = 151663;
const QWEN_FILE_SEP = 151664;

const ADD: FimInput = { prefix: 'def add(a, b):\n    ', suffix: '\n\nprint(add(1, 2))', chunks: [] };

let qwen25: NativeModel;
let qwen2: NativeModel;
let deepseek: NativeModel;
let starcoder: NativeModel;
let llamaSpm: NativeModel;

beforeAll(() => {
  const { Model } = loadAddon();
  qwen25 = new Model(path.join(sharedModels, 'tiny-qwen2-e64-qwen25vocab-tied-s1-Q8_0.gguf'));
  qwen2 = new Model(vocabPath('qwen2'));
  deepseek = new Model(vocabPath('deepseek-coder'));
  starcoder = new Model(vocabPath('starcoder'));
  llamaSpm = new Model(vocabPath('llama-spm'));
});

afterAll(() => {
  for (const model of [qwen25, qwen2, deepseek, starcoder, llamaSpm]) model.close();
});

function encode(model: NativeModel, text: string): number[] {
  return Array.from(model.tokenize(text, false, false));
}

function count(tokens: readonly number[], id: number): number {
  return tokens.filter((t) => t === id).length;
}

/** The prefix and suffix parts of a FIM prompt, by the positions of the FIM tokens. */
function parts(model: NativeModel, prompt: FimPrompt): { prefix: string; suffix: string; prefixStart: number } {
  const special = model.specialTokens();
  const prefixStart = prompt.tokens.indexOf(special.fimPrefix) + 1;
  const suffixStart = prompt.tokens.indexOf(special.fimSuffix) + 1;
  return {
    prefix: model.detokenize(prompt.tokens.slice(prefixStart, prefixStart + prompt.nPrefixTokens), false),
    suffix: model.detokenize(prompt.tokens.slice(suffixStart, suffixStart + prompt.nSuffixTokens), false),
    prefixStart,
  };
}

function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** A Python file of `lines` numbered assignments, each line ending in a newline. */
function numberedLines(name: string, lines: number): string {
  return Array.from({ length: lines }, (_, i) => `${name}_${i} = compute(${i}, "${name}")\n`).join('');
}

describe('buildFimPrompt: token layout', () => {
  it('deepseek-coder: BOS, then <PRE> prefix <SUF> suffix <MID> (llama.cpp reference ids)', () => {
    expect(buildFimPrompt(deepseek, ADD, 512)).toEqual({
      tokens: [32013, 32016, 1551, 957, 7, 64, 11, 270, 1772, 185, 251, 32015, 185, 185, 4128, 7, 1761, 7, 16, 11, 207, 17, 1435, 32017],
      mode: 'fim',
      nPrefixTokens: 9,
      nSuffixTokens: 11,
      chunksUsed: 0,
      chunksDropped: 0,
    });
  });

  it('Qwen2.5-Coder vocab: no BOS, file-level FIM without context (llama.cpp reference ids)', () => {
    const prompt = buildFimPrompt(qwen25, ADD, 512);
    expect(prompt.mode).toBe('fim');
    expect(prompt.tokens).toEqual([151659, 750, 912, 2877, 11, 293, 982, 257, 151661, 271, 1350, 25906, 7, 16, 11, 220, 17, 593, 151660]);
  });

  it('starcoder: no BOS, FIM ids 1 / 3 / 2, its <file_sep> is not used for context', () => {
    const input: FimInput = { ...ADD, chunks: [{ path: 'util.py', text: 'x = 1' }] };
    const prompt = buildFimPrompt(starcoder, input, 512);
    expect(prompt.mode).toBe('fim');
    expect(prompt.tokens).toEqual([...encode(starcoder, '--- util.py ---\nx = 1\n\n'), 1, ...encode(starcoder, ADD.prefix), 3, ...encode(starcoder, ADD.suffix), 2]);
  });

  it('plain context: each chunk as `--- path ---` banner and text, before the FIM prefix token', () => {
    const input: FimInput = { ...ADD, chunks: [{ path: 'util.py', text: 'x = 1' }, { text: 'y = 2' }] };
    const prompt = buildFimPrompt(deepseek, input, 512);
    expect(prompt).toMatchObject({ mode: 'fim', chunksUsed: 2, chunksDropped: 0 });
    expect(deepseek.detokenize(prompt.tokens, true)).toBe(
      '<｜begin▁of▁sentence｜>--- util.py ---\nx = 1\n\n--- snippet ---\ny = 2\n\n<｜fim▁begin｜>def add(a, b):\n    <｜fim▁hole｜>\n\nprint(add(1, 2))<｜fim▁end｜>',
    );
  });

  it('Qwen2.5-Coder repo-level format when the vocab has <|file_sep|> and there is context', () => {
    const input: FimInput = { ...ADD, chunks: [{ path: 'util.py', text: 'x = 1' }], repoName: 'demo', filePath: 'main.py' };
    const prompt = buildFimPrompt(qwen25, input, 512);
    expect(prompt).toEqual({
      tokens: [
        ...[QWEN_REPO_NAME, 25762, 198], // <|repo_name|>demo\n
        ...[QWEN_FILE_SEP, 1314, 7197, 198, 87, 284, 220, 16, 198], // <|file_sep|>util.py\nx = 1\n
        ...[QWEN_FILE_SEP, 3817, 7197, 198], // <|file_sep|>main.py\n
        ...[QWEN_FIM_PREFIX, 750, 912, 2877, 11, 293, 982, 257],
        ...[QWEN_FIM_SUFFIX, 271, 1350, 25906, 7, 16, 11, 220, 17, 593],
        QWEN_FIM_MIDDLE,
      ],
      mode: 'fim-repo',
      nPrefixTokens: 7,
      nSuffixTokens: 9,
      chunksUsed: 1,
      chunksDropped: 0,
    });
    expect(qwen25.detokenize(prompt.tokens, true)).toBe(
      '<|repo_name|>demo\n<|file_sep|>util.py\nx = 1\n<|file_sep|>main.py\n<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))<|fim_middle|>',
    );
  });

  it('repo-level format without a repo name or paths: no repo line, paths "untitled"', () => {
    const prompt = buildFimPrompt(qwen25, { ...ADD, chunks: [{ text: 'x = 1' }] }, 512);
    expect(prompt.mode).toBe('fim-repo');
    expect(qwen25.detokenize(prompt.tokens, true)).toBe(
      '<|file_sep|>untitled\nx = 1\n<|file_sep|>untitled\n<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))<|fim_middle|>',
    );
  });

  it('repo-level format falls back to plain FIM when the file header would take over half the budget', () => {
    const input: FimInput = { ...ADD, chunks: [{ text: 'x = 1' }], filePath: 'deep/'.repeat(40) + 'main.py' };
    const prompt = buildFimPrompt(qwen25, input, 60);
    expect(prompt.mode).toBe('fim');
    expect(count(prompt.tokens, QWEN_FILE_SEP)).toBe(0);
    expect(prompt.tokens.length).toBeLessThanOrEqual(60);
  });

  it('prefix-only without FIM tokens: Qwen2 vocab (no BOS) and llama SPM vocab (BOS, context first)', () => {
    expect(buildFimPrompt(qwen2, ADD, 512)).toEqual({
      tokens: encode(qwen2, ADD.prefix),
      mode: 'prefix-only',
      nPrefixTokens: 7,
      nSuffixTokens: 0,
      chunksUsed: 0,
      chunksDropped: 0,
    });
    const prompt = buildFimPrompt(llamaSpm, { ...ADD, chunks: [{ path: 'util.py', text: 'x = 1' }] }, 512);
    expect(prompt).toMatchObject({ mode: 'prefix-only', nSuffixTokens: 0, chunksUsed: 1 });
    expect(prompt.tokens).toEqual([1, ...encode(llamaSpm, '--- util.py ---\nx = 1\n\n'), ...encode(llamaSpm, ADD.prefix)]);
  });
});

describe('buildFimPrompt: user text never becomes special tokens', () => {
  it('control-token text in prefix, suffix, chunks and names stays plain text (Qwen2.5)', () => {
    const input: FimInput = {
      prefix: 's = "<|fim_prefix|><|fim_middle|>"\n<|file_sep|>',
      suffix: '<|fim_suffix|><|endoftext|><|im_start|>',
      chunks: [{ path: '<|repo_name|>', text: '<|file_sep|>fake.py\n<|fim_middle|>' }],
      repoName: '<|fim_pad|>',
      filePath: '<|file_sep|>',
    };
    const prompt = buildFimPrompt(qwen25, input, 512);
    expect(prompt.mode).toBe('fim-repo');
    expect(count(prompt.tokens, QWEN_FIM_PREFIX)).toBe(1);
    expect(count(prompt.tokens, QWEN_FIM_SUFFIX)).toBe(1);
    expect(count(prompt.tokens, QWEN_FIM_MIDDLE)).toBe(1);
    expect(count(prompt.tokens, QWEN_REPO_NAME)).toBe(1);
    expect(count(prompt.tokens, QWEN_FILE_SEP)).toBe(2); // one per chunk, one for the current file
    for (const id of [151643, 151644, 151662]) expect(count(prompt.tokens, id)).toBe(0);
    expect(parts(qwen25, prompt).prefix).toBe(input.prefix);
    expect(parts(qwen25, prompt).suffix).toBe(input.suffix);
  });

  it('FIM-token text in user code stays plain text (deepseek-coder)', () => {
    const input: FimInput = { prefix: '<｜fim▁begin｜>x', suffix: '<｜fim▁hole｜><｜fim▁end｜>', chunks: [] };
    const prompt = buildFimPrompt(deepseek, input, 512);
    for (const id of [32013, 32015, 32016, 32017]) expect(count(prompt.tokens, id)).toBe(1);
  });
});

describe('buildFimPrompt: budget', () => {
  const chunks = [
    { path: 'a.py', text: numberedLines('a', 6) },
    { path: 'b.py', text: numberedLines('b', 6) },
    { path: 'c.py', text: numberedLines('c', 6) },
  ];
  const input: FimInput = { prefix: numberedLines('p', 10) + 'total = ', suffix: '\n' + numberedLines('s', 4), chunks, repoName: 'r', filePath: 'main.py' };

  it('drops chunks first, the first (oldest) one first', () => {
    const full = buildFimPrompt(qwen25, input, 4096);
    expect(full).toMatchObject({ mode: 'fim-repo', chunksUsed: 3, chunksDropped: 0 });
    const firstChunkCost = 1 + encode(qwen25, `a.py\n${chunks[0]?.text}\n`).length;

    const oneDropped = buildFimPrompt(qwen25, input, full.tokens.length - 1);
    expect(oneDropped).toMatchObject({ chunksUsed: 2, chunksDropped: 1, nPrefixTokens: full.nPrefixTokens, nSuffixTokens: full.nSuffixTokens });
    expect(oneDropped.tokens.length).toBe(full.tokens.length - firstChunkCost);
    const text = qwen25.detokenize(oneDropped.tokens, true);
    expect(text).not.toContain('a.py');
    expect(text).toContain('<|file_sep|>b.py\nb_0');
    expect(text).toContain('<|file_sep|>c.py\nc_0');

    const codeOnly = buildFimPrompt(qwen25, { ...input, chunks: [] }, 4096);
    const allDropped = buildFimPrompt(qwen25, input, codeOnly.tokens.length);
    expect(allDropped).toMatchObject({ mode: 'fim-repo', chunksUsed: 0, chunksDropped: 3 });
    expect(allDropped.tokens).toEqual(codeOnly.tokens);
  });

  it('then cuts the prefix from its start and the suffix from its end at line boundaries, about 3:1', () => {
    const long: FimInput = { prefix: numberedLines('p', 200) + 'total = ', suffix: '\n' + numberedLines('s', 100), chunks, filePath: 'main.py' };
    const framing = 3 + 1 + encode(qwen25, 'main.py\n').length;
    const lineTokens = encode(qwen25, 'p_100 = compute(100, "p")\n').length;
    for (const [budget, grid] of [
      [1200, 8], // large budget: the cut lands on the 8-line grid
      [300, 1], // small budget: an 8-line step would waste too much, any line start
    ] as const) {
      const prompt = buildFimPrompt(qwen25, long, budget);
      expect(prompt).toMatchObject({ mode: 'fim-repo', chunksUsed: 0, chunksDropped: 3 });
      expect(prompt.tokens.length).toBeLessThanOrEqual(budget);

      const room = budget - framing;
      const prefixShare = Math.floor((room * 3) / 4);
      expect(prompt.nPrefixTokens).toBeLessThanOrEqual(prefixShare);
      expect(prompt.nPrefixTokens).toBeGreaterThan(prefixShare - grid * lineTokens);
      expect(prompt.nSuffixTokens).toBeLessThanOrEqual(room - prefixShare);
      expect(prompt.nSuffixTokens).toBeGreaterThan(room - prefixShare - lineTokens);

      const { prefix, suffix } = parts(qwen25, prompt);
      expect(long.prefix.endsWith(prefix)).toBe(true);
      expect(prefix).toMatch(/^p_\d+ = /); // starts at a line start
      if (grid === 8) expect(Number(/^p_(\d+)/.exec(prefix)?.[1]) % 8).toBe(0);
      expect(long.suffix.startsWith(suffix)).toBe(true);
      expect(suffix.endsWith('\n')).toBe(true);
    }
  });

  it('a short suffix is kept whole and leaves its share to the prefix', () => {
    const shortSuffix: FimInput = { prefix: numberedLines('p', 120), suffix: '\nprint(total)\n', chunks: [] };
    const prompt = buildFimPrompt(deepseek, shortSuffix, 200);
    expect(prompt.nSuffixTokens).toBe(encode(deepseek, shortSuffix.suffix).length);
    expect(prompt.nPrefixTokens).toBeGreaterThan(Math.floor((196 * 3) / 4));
    expect(prompt.tokens.length).toBeLessThanOrEqual(200);
  });

  it('a prefix without usable line breaks is cut token-wise, keeping the tokens nearest the cursor', () => {
    const oneLine: FimInput = { prefix: 'x = [' + Array.from({ length: 300 }, (_, i) => i).join(', '), suffix: ']', chunks: [] };
    const prompt = buildFimPrompt(deepseek, oneLine, 64);
    const all = encode(deepseek, oneLine.prefix);
    expect(prompt.tokens.length).toBe(64);
    expect(prompt.tokens.slice(2, 2 + prompt.nPrefixTokens)).toEqual(all.slice(all.length - prompt.nPrefixTokens));
  });

  it('prefix-only mode spends the whole budget on context and the prefix tail', () => {
    const prompt = buildFimPrompt(llamaSpm, { prefix: numberedLines('p', 80), suffix: 'ignored', chunks }, 120);
    expect(prompt).toMatchObject({ mode: 'prefix-only', chunksUsed: 0, chunksDropped: 3, nSuffixTokens: 0 });
    expect(prompt.tokens.length).toBeLessThanOrEqual(120);
    expect(prompt.tokens.length).toBeGreaterThan(100);
    expect(prompt.tokens[0]).toBe(1);
  });

  it('never exceeds the budget, for every budget from 8 up, and is deterministic', () => {
    for (let budget = 8; budget <= 420; budget += 7) {
      for (const model of [qwen25, deepseek, llamaSpm]) {
        const prompt = buildFimPrompt(model, input, budget);
        expect(prompt.tokens.length).toBeLessThanOrEqual(budget);
        expect(buildFimPrompt(model, input, budget)).toEqual(prompt);
      }
    }
  });

  it('rejects a budget under 8 tokens with kind invalid_argument', () => {
    expect(() => buildFimPrompt(deepseek, ADD, 7)).toThrow(FimPromptError);
    expect(() => buildFimPrompt(deepseek, ADD, 7.5)).toThrow(expect.objectContaining({ kind: 'invalid_argument' }) as Error);
    expect(buildFimPrompt(deepseek, ADD, 8).tokens).toHaveLength(8);
  });
});

describe('buildFimPrompt: prefix reuse while typing', () => {
  const chunks = [{ path: 'util.py', text: numberedLines('u', 5) }];

  it('typing at the end of the prefix keeps every token before the typed text', () => {
    const base = numberedLines('p', 20) + 'result = ';
    const input = (prefix: string): FimInput => ({ prefix, suffix: '\nreturn result\n', chunks, repoName: 'r', filePath: 'f.py' });
    const first = buildFimPrompt(qwen25, input(base), 4096);
    // BPE may re-merge the last token of the untouched text with what follows, nothing earlier.
    const stable = parts(qwen25, first).prefixStart + encode(qwen25, base).length - 1;
    const typed = 'compute(21, "p") + 1';
    for (let i = 1; i <= typed.length; i++) {
      const next = buildFimPrompt(qwen25, input(base + typed.slice(0, i)), 4096);
      expect(commonPrefixLength(first.tokens, next.tokens)).toBeGreaterThanOrEqual(stable);
    }
  });

  it('when the prefix is cut, the cut moves in steps of 8 lines and the lines before the cursor line stay', () => {
    const input = (prefix: string): FimInput => ({ prefix, suffix: '\n' + numberedLines('s', 10), chunks: [] });
    let text = numberedLines('p', 300);
    let previous = buildFimPrompt(qwen25, input(text), 1500);
    let previousCut = text.length - parts(qwen25, previous).prefix.length;
    let cutMoves = 0;
    for (let line = 300; line < 324; line++) {
      for (const piece of [`p_${line} `, '= compute(', `${line}, "p")`, '\n']) {
        const lineStart = text.lastIndexOf('\n') + 1;
        text += piece;
        const next = buildFimPrompt(qwen25, input(text), 1500);
        const { prefix, prefixStart } = parts(qwen25, next);
        const cut = text.length - prefix.length;
        expect(text.endsWith(prefix)).toBe(true);
        if (cut === previousCut) {
          const untouched = encode(qwen25, text.slice(cut, lineStart)).length;
          expect(commonPrefixLength(previous.tokens, next.tokens)).toBeGreaterThanOrEqual(prefixStart + untouched);
        } else {
          cutMoves++;
          expect(prefix).toMatch(/^p_\d+ = /);
          expect(Number(/^p_(\d+)/.exec(prefix)?.[1]) % 8).toBe(0);
        }
        previous = next;
        previousCut = cut;
      }
    }
    expect(cutMoves).toBeGreaterThanOrEqual(2);
    expect(cutMoves).toBeLessThanOrEqual(4); // 24 new lines
  });
});

describe('buildFimPrompt: argument errors', () => {
  it('FimPromptError names the budget problem', () => {
    expect(() => buildFimPrompt(qwen25, ADD, 0)).toThrow(/budget must be an integer >= 8/);
  });
});
