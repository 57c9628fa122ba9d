// The benchmark model: random weights with the exact shapes of Qwen2.5-Coder-0.5B in Q8_0,
// written once by the addon's writeRandomModel and cached outside the repository
// (~/.cache/alloy-bench/, or $ALLOY_BENCH_CACHE). The file name carries a hash of the
// configuration, so a changed configuration makes a new file instead of reusing a stale one.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Qwen2.5-Coder-0.5B (qwen2): vocab 151936 (the vocab file's size), tied embeddings, q/k/v
// biases, GQA 14 / 2 heads of 64.
export const QWEN25_CODER_05B_SHAPE = {
  arch: 'qwen2',
  weightType: 'Q8_0',
  nEmbd: 896,
  nLayer: 24,
  nHead: 14,
  nHeadKv: 2,
  nFf: 4864,
  nCtxTrain: 32768,
  ropeFreqBase: 1000000,
  rmsEps: 1e-6,
  tiedOutput: true,
  seed: 1,
  name: 'alloy-bench qwen2.5-coder-0.5b shape (random weights)',
};
export const EXPECTED_N_VOCAB = 151936;

export function cacheDir() {
  return process.env.ALLOY_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'alloy-bench');
}

// Returns { file, generated_ms (null when cached), bytes, config }.
export function ensureBenchModel(addon, vocabPath, log) {
  const config = { ...QWEN25_CODER_05B_SHAPE, vocabPath };
  const vocabStamp = `${path.basename(vocabPath)}:${statSync(vocabPath).size}`;
  const key = createHash('sha256')
    .update(JSON.stringify({ ...config, vocabPath: vocabStamp }))
    .digest('hex')
    .slice(0, 12);
  const dir = cacheDir();
  const file = path.join(dir, `qwen2.5-coder-0.5b-shape-q8_0-${key}.gguf`);
  let generatedMs = null;
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const partial = `${file}.partial-${process.pid}`;
    log(`bench: writing the random Qwen2.5-Coder-0.5B-shaped Q8_0 model to ${file} (once) ...`);
    const t0 = performance.now();
    try {
      addon.writeRandomModel(config, partial);
      renameSync(partial, file); // atomic: an interrupted run never leaves a truncated cache file
    } finally {
      rmSync(partial, { force: true });
    }
    generatedMs = performance.now() - t0;
    log(`bench: model written in ${(generatedMs / 1000).toFixed(1)} s`);
  }
  const model = new addon.Model(file);
  const info = model.info();
  model.close();
  if (info.n_vocab !== EXPECTED_N_VOCAB) {
    throw new Error(`bench model ${file} has n_vocab ${info.n_vocab}, expected ${EXPECTED_N_VOCAB}`);
  }
  return { file, generatedMs, bytes: statSync(file).size, info };
}

// The shape block of the JSON output (read back from the file, not from the request).
export function modelSummary(bench) {
  const { info } = bench;
  return {
    file: bench.file,
    file_mb: Number((bench.bytes / 2 ** 20).toFixed(1)),
    type: 'Q8_0',
    arch: info.arch,
    n_vocab: info.n_vocab,
    n_embd: info.n_embd,
    n_layer: info.n_layer,
    n_head: info.n_head,
    n_head_kv: info.n_head_kv,
    n_ff: QWEN25_CODER_05B_SHAPE.nFf,
    n_ctx_train: info.n_ctx_train,
    rope_freq_base: QWEN25_CODER_05B_SHAPE.ropeFreqBase,
    rms_eps: QWEN25_CODER_05B_SHAPE.rmsEps,
    tied_output: QWEN25_CODER_05B_SHAPE.tiedOutput,
    tensor_types: info.tensor_types,
    generated_ms: bench.generatedMs === null ? null : Math.round(bench.generatedMs),
  };
}
