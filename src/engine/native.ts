// Loads the native addon (alloy.node) and describes its JS surface. The engine host and
// the CLI use it; the extension host never loads it (a native crash must not take VS Code down).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export interface ModelInfoJson {
  arch: string;
  n_layer: number | null;
  n_embd: number | null;
  n_head: number | null;
  n_head_kv: number | null;
  n_vocab: number;
  n_ctx_train: number | null;
  tensor_types: Record<string, number>;
  fim: { prefix: number; suffix: number; middle: number } | null;
  chat_template: boolean;
}

export interface SpecialTokensJson {
  bos: number;
  eos: number;
  eot: number;
  pad: number;
  fimPrefix: number;
  fimSuffix: number;
  fimMiddle: number;
  addBos: boolean;
  addEos: boolean;
  eog: number[];
}

export interface NativeModel {
  info(): ModelInfoJson;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  detokenize(ids: ArrayLike<number>, renderSpecial: boolean): string;
  tokenToPiece(id: number, renderSpecial: boolean): Buffer;
  specialTokens(): SpecialTokensJson;
  close(): void;
}

export interface RandomModelOptions {
  arch: 'llama' | 'qwen2';
  weightType: string;
  nVocab?: number;
  nEmbd?: number;
  nLayer?: number;
  nHead?: number;
  nHeadKv?: number;
  nFf?: number;
  nCtxTrain?: number;
  nRot?: number;
  ropeFreqBase?: number;
  rmsEps?: number;
  tiedOutput?: boolean;
  seed?: number;
  weightStd?: number;
  qkStd?: number;
  embdStd?: number;
  outputStd?: number;
  normStd?: number;
  biasStd?: number;
  vocabPath?: string;
  name?: string;
}

export interface NativeAddon {
  Model: new (path: string) => NativeModel;
  writeRandomModel(options: RandomModelOptions, outPath: string): void;
  engineVersion: string;
  cpuFeatures: string[];
}

/** An error thrown by the addon: `kind` is the engine's stable error kind. */
export interface EngineError extends Error {
  kind: string;
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof Error && typeof (e as Partial<EngineError>).kind === 'string';
}

/** Where alloy.node may be: next to the bundle (packaged) or in the cmake-js build tree. */
export function addonCandidates(fromDir: string): string[] {
  const roots = [fromDir, path.resolve(fromDir, '..'), path.resolve(fromDir, '..', '..')];
  const out: string[] = [];
  for (const root of roots) {
    out.push(path.join(root, 'alloy.node'), path.join(root, 'build', 'Release', 'alloy.node'));
  }
  return out;
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const override = process.env['ALLOY_ADDON_PATH'];
  const candidates = override ? [override] : addonCandidates(__dirname);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) {
    const err = new Error(`native addon alloy.node not found (looked in: ${candidates.join(', ')}); run \`npm run build\``) as EngineError;
    err.kind = 'addon_missing';
    throw err;
  }
  // The path is only known at run time; createRequire keeps the bundler out of it.
  cached = createRequire(__filename)(found) as NativeAddon;
  return cached;
}
