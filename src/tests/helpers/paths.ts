// Paths the tests share: the repo root, the built bundle, and ../shared/models.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const distDir = path.join(repoRoot, 'dist');
export const cliPath = path.join(distDir, 'cli.js');
export const engineHostPath = path.join(distDir, 'engine-host.js');
export const sharedModels = process.env['ALLOY_SHARED_MODELS'] ?? path.resolve(repoRoot, '..', 'shared', 'models');
export const vocabDir = path.join(sharedModels, 'vocab');

export const VOCABS = ['qwen2', 'deepseek-coder', 'starcoder', 'llama-spm', 'llama-bpe'] as const;
export type VocabName = (typeof VOCABS)[number];
export function vocabPath(name: VocabName): string {
  return path.join(vocabDir, `ggml-vocab-${name}.gguf`);
}

const tempDirs: string[] = [];

/** A fresh directory under the system temp folder, removed by removeTempDirs after the test file. */
export function makeTempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `alloy-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory makeTempDir made in this process (temp-cleanup.ts calls it per test file). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}
