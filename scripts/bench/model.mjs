// The benchmark models: random weights with the exact shapes of Qwen2.5-Coder-0.5B and -1.5B,
// each in Q8_0, Q4_0 and a Q4_K_M-style mix, written once by the addon's writeRandomModel and
// cached outside the repository (~/.cache/alloy-bench/, or $ALLOY_BENCH_CACHE). The file name
// carries a hash of the configuration, so a changed configuration makes a new file instead of
// reusing a stale one.
//
// Q8_0 and Q4_0 put every matrix in that one type (llama-quantize would move the tied output
// matrix of a Q4_0 file to Q6_K or Q8_0; a uniform file measures one kernel per model).
// q4_k_m follows llama.cpp's Q4_K_M choice tensor by tensor (llama_tensor_get_type in
// src/llama-quant.cpp): the output matrix (here the tied token_embd) Q6_K; attn_v and
// ffn_down Q6_K in the "use_more_bits" layers, Q4_K elsewhere; every other matrix Q4_K. A
// K-quant needs rows of whole 256-blocks, so on the 0.5B shape (n_embd 896) llama.cpp's
// fallbacks apply as in a real Qwen2.5-Coder-0.5B Q4_K_M file: Q4_K -> Q5_0, Q6_K -> Q8_0 for
// the 896-long rows, and the output matrix Q8_0; only ffn_down (rows of n_ff = 4864) keeps
// Q4_K / Q6_K there. The 1.5B shape (n_embd 1536, n_ff 8960) takes the mix unchanged.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// qwen2: vocab 151936 (the vocab file's size), tied embeddings, q/k/v biases, GQA.
const SHAPES = {
  '0.5b': { nEmbd: 896, nLayer: 24, nHead: 14, nHeadKv: 2, nFf: 4864 }, // head dim 64
  '1.5b': { nEmbd: 1536, nLayer: 28, nHead: 12, nHeadKv: 2, nFf: 8960 }, // head dim 128
};
const COMMON = { nCtxTrain: 32768, ropeFreqBase: 1000000, rmsEps: 1e-6, tiedOutput: true, seed: 1 };
const TYPES = ['q8_0', 'q4_0', 'q4_k_m'];
const LLAMA_FTYPE_MOSTLY_Q4_K_M = 15;
export const EXPECTED_N_VOCAB = 151936;

// Every bench model id, in run order: '0.5b-q8_0', '0.5b-q4_0', '0.5b-q4_k_m', '1.5b-q8_0', ...
export const BENCH_MODEL_IDS = Object.keys(SHAPES).flatMap((shape) => TYPES.map((type) => `${shape}-${type}`));
export const DEFAULT_MODEL_ID = '0.5b-q8_0';

// llama.cpp's use_more_bits(i_layer, n_layers) (integer division as in C++).
function useMoreBits(i, n) {
  const eighth = Math.floor(n / 8);
  return i < eighth || i >= Math.floor((7 * n) / 8) || (i - eighth) % 3 === 2;
}

// llama.cpp's fallback for a K-quant whose rows are not whole 256-blocks (the two it needs here).
const K_BLOCK = 256;
const K_FALLBACK = { Q4_K: 'Q5_0', Q6_K: 'Q8_0' };
const fit = (type, rowLength) => (type in K_FALLBACK && rowLength % K_BLOCK !== 0 ? K_FALLBACK[type] : type);

// The Q4_K_M-style type of every matrix, by tensor name.
export function q4KmTensorTypes(shape, tiedOutput) {
  const { nEmbd, nLayer, nFf } = shape;
  const types = {};
  // The output matrix: Q8_0 when its rows do not split into Q4_K blocks, else Q6_K.
  const output = nEmbd % K_BLOCK === 0 ? 'Q6_K' : 'Q8_0';
  if (tiedOutput) types['token_embd.weight'] = output;
  else types['token_embd.weight'] = fit('Q4_K', nEmbd);
  for (let i = 0; i < nLayer; i++) {
    const blk = `blk.${i}.`;
    for (const m of ['attn_q', 'attn_k', 'attn_output', 'ffn_gate', 'ffn_up']) types[`${blk}${m}.weight`] = fit('Q4_K', nEmbd);
    const more = useMoreBits(i, nLayer) ? 'Q6_K' : 'Q4_K';
    types[`${blk}attn_v.weight`] = fit(more, nEmbd);
    types[`${blk}ffn_down.weight`] = fit(more, nFf);
  }
  if (!tiedOutput) types['output.weight'] = output;
  return types;
}

function parseId(id) {
  const m = /^(\d+\.\d+b)-(.+)$/.exec(id);
  if (!m || !SHAPES[m[1]] || !TYPES.includes(m[2])) {
    throw new Error(`unknown bench model '${id}' (one of ${BENCH_MODEL_IDS.join(', ')})`);
  }
  return { shape: m[1], type: m[2] };
}

// The writeRandomModel configuration of a bench model (without vocabPath).
export function benchModelConfig(id) {
  const { shape, type } = parseId(id);
  const dims = SHAPES[shape];
  const base = {
    arch: 'qwen2',
    weightType: type === 'q4_k_m' ? 'Q4_K' : type.toUpperCase(),
    ...dims,
    ...COMMON,
    name: `alloy-bench qwen2.5-coder-${shape} shape (random weights)`,
  };
  if (type !== 'q4_k_m') return base;
  return { ...base, tensorTypes: q4KmTensorTypes(dims, COMMON.tiedOutput), fileType: LLAMA_FTYPE_MOSTLY_Q4_K_M };
}

export function cacheDir() {
  return process.env.ALLOY_BENCH_CACHE ?? path.join(os.homedir(), '.cache', 'alloy-bench');
}

// Returns { id, file, generatedMs (null when cached), bytes, info, config }.
export function ensureBenchModel(addon, vocabPath, log, id = DEFAULT_MODEL_ID) {
  const config = { ...benchModelConfig(id), vocabPath };
  const vocabStamp = `${path.basename(vocabPath)}:${statSync(vocabPath).size}`;
  const key = createHash('sha256')
    .update(JSON.stringify({ ...config, vocabPath: vocabStamp }))
    .digest('hex')
    .slice(0, 12);
  const dir = cacheDir();
  const { shape, type } = parseId(id);
  const file = path.join(dir, `qwen2.5-coder-${shape}-shape-${type}-${key}.gguf`);
  let generatedMs = null;
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const partial = `${file}.partial-${process.pid}`;
    log(`bench: writing the random Qwen2.5-Coder-${shape.toUpperCase()}-shaped ${type.toUpperCase()} model to ${file} (once) ...`);
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
  return { id, file, generatedMs, bytes: statSync(file).size, info, config };
}

// The shape block of the JSON output (read back from the file where the file says it).
export function modelSummary(bench) {
  const { info, config } = bench;
  return {
    file: bench.file,
    file_mb: Number((bench.bytes / 2 ** 20).toFixed(1)),
    type: parseId(bench.id).type.toUpperCase(),
    arch: info.arch,
    n_vocab: info.n_vocab,
    n_embd: info.n_embd,
    n_layer: info.n_layer,
    n_head: info.n_head,
    n_head_kv: info.n_head_kv,
    n_ff: config.nFf,
    n_ctx_train: info.n_ctx_train,
    rope_freq_base: config.ropeFreqBase,
    rms_eps: config.rmsEps,
    tied_output: config.tiedOutput,
    tensor_types: info.tensor_types,
    generated_ms: bench.generatedMs === null ? null : Math.round(bench.generatedMs),
  };
}
