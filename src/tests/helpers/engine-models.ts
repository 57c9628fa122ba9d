// Models the engine host and client tests use: the tiny shared models (fast, real
// vocabularies), a random model big enough that generation takes a while (cancel, kill and
// supersede tests need a request still running when they act), and broken files.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { RandomModelOptions } from '../../engine/native';
import { ensureRandomModel } from './parity-models';
import { sharedModels, vocabPath } from './paths';

/** llama, SentencePiece vocab, no FIM tokens, no chat template (ChatML is used). */
export const STORIES_MODEL = path.join(sharedModels, 'stories260K.gguf');
/** qwen2, deepseek-coder vocab with FIM tokens, no chat template. */
export const FIM_MODEL = path.join(sharedModels, 'tiny-qwen2-dscoder-s1-Q8_0.gguf');
/** qwen2, Qwen2.5 vocab: FIM tokens and the Qwen chat template. */
export const CHAT_MODEL = path.join(sharedModels, 'tiny-qwen2-e64-qwen25vocab-tied-s1-Q8_0.gguf');

/**
 * qwen2 with the Qwen2 vocabulary (151936 tokens, chat template) and 8 layers of width 512,
 * Q8_0, tied output (~115 MB): some 10-20 ms per token on one core, so a request of a few
 * thousand tokens is still running when a test cancels it, supersedes it or kills the host.
 * Generated once and cached (parity-models.ts).
 */
const SLOW_RECIPE: RandomModelOptions = {
  arch: 'qwen2',
  weightType: 'Q8_0',
  nVocab: 0,
  nEmbd: 512,
  nLayer: 8,
  nHead: 8,
  nHeadKv: 2,
  nFf: 1536,
  nCtxTrain: 8192,
  tiedOutput: true,
  seed: 1,
  vocabPath: vocabPath('qwen2'),
  name: 'alloy-engine-test-slow',
};

export function slowModelPath(): string {
  return ensureRandomModel(SLOW_RECIPE);
}

/** The first kilobyte of a real model: a GGUF that ends inside its metadata (kind truncated_file). */
export function truncatedModel(dir: string): string {
  const file = path.join(dir, 'truncated.gguf');
  fs.writeFileSync(file, fs.readFileSync(STORIES_MODEL).subarray(0, 1000));
  return file;
}

/** A file that is not GGUF at all. */
export function notGguf(dir: string): string {
  const file = path.join(dir, 'not-a-model.gguf');
  fs.writeFileSync(file, 'this is not a GGUF file\n'.repeat(100));
  return file;
}

/** Threads for every test load: results must not depend on the machine. */
export const TEST_THREADS = 1;
