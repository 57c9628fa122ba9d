// Our tokenizers against llama.cpp on the same vocab files: the llama.cpp test vectors,
// source code in ten languages, and FIM / chat prompts with special tokens parsed.
import type { LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadAddon, type NativeModel } from '../../engine/native';
import { CODE_SAMPLES } from '../helpers/code-samples';
import { loadOracleModel } from '../helpers/llama-oracle';
import { VOCABS, vocabPath } from '../helpers/paths';
import { readVocabVectors } from '../helpers/vocab-vectors';

// Prompts whose special-token text must be parsed exactly like llama.cpp (parse_special).
const SPECIAL_PROMPTS = [
  '<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))<|fim_middle|>',
  '<｜fim▁begin｜>def add(a, b):\n    <｜fim▁hole｜>\n\nprint(add(1, 2))<｜fim▁end｜>',
  '<fim_prefix>int main() {<fim_suffix>}<fim_middle>',
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi <s> there </s><|im_end|>\n<|im_start|>assistant\n',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhello<|eot_id|>',
  '<s>[INST] explain <unk> tokens [/INST]</s>',
];

describe.each(VOCABS)('tokenizer parity: %s', (vocab) => {
  let ours: NativeModel;
  let theirs: LlamaModel;
  beforeAll(async () => {
    ours = new (loadAddon().Model)(vocabPath(vocab));
    theirs = await loadOracleModel(vocabPath(vocab), true);
  });
  afterAll(async () => {
    ours.close();
    await theirs.dispose();
  });

  it('reproduces every llama.cpp test vector exactly', () => {
    const vectors = readVocabVectors(vocabPath(vocab));
    expect(vectors).toHaveLength(46);
    for (const v of vectors) {
      expect({ text: v.text, ids: Array.from(ours.tokenize(v.text, false, false)) }).toEqual(v);
    }
  });

  it.each(Object.keys(CODE_SAMPLES))('source code (%s) tokenizes like llama.cpp', (lang) => {
    const text = CODE_SAMPLES[lang] ?? '';
    expect(Array.from(ours.tokenize(text, false, false))).toEqual(theirs.tokenize(text, false));
  });

  it('special-token prompts tokenize like llama.cpp with and without parse_special', () => {
    for (const text of SPECIAL_PROMPTS) {
      expect({ text, ids: Array.from(ours.tokenize(text, false, true)) }).toEqual({ text, ids: theirs.tokenize(text, true) });
      expect({ text, ids: Array.from(ours.tokenize(text, false, false)) }).toEqual({ text, ids: theirs.tokenize(text, false) });
    }
  });

  it('detokenizes to what llama.cpp detokenizes', () => {
    for (const text of Object.values(CODE_SAMPLES)) {
      const ids = theirs.tokenize(text, false);
      expect(ours.detokenize(ids, false)).toEqual(theirs.detokenize(ids, false));
    }
  });
});
