// The recommended models of `Alloy: Download Model…`, with no VS Code import: Qwen2.5-Coder base
// models for completion (fill-in-the-middle) and instruct models for chat, each in Q8_0 and
// Q4_K_M, with their size and whether they fit this machine's memory.
//
// DEBT: the URLs and sizes were written from the publishers' naming (ggml-org's Q8_0 builds that
// llama.vscode recommends, Qwen's official instruct GGUFs, bartowski's base Q4_K_M builds) on a
// machine without internet access, so none was fetched here; a wrong one fails with the server's
// 404 (http_status) and nothing is written. The SHA-256 is not listed: Hugging Face publishes it
// with every file (X-Linked-Etag) and the download checks it. A check of every URL in CI with
// internet access removes this debt.
export type ModelUse = 'completion' | 'chat';
export type ModelQuant = 'Q8_0' | 'Q4_K_M';

export interface CatalogueEntry {
  id: string;
  label: string;
  use: ModelUse;
  params: '0.5B' | '1.5B' | '3B' | '7B';
  quant: ModelQuant;
  url: string;
  /** About this many bytes (for display and the memory check; the download learns the exact size). */
  approxBytes: number;
}

/** The host every catalogue URL names: downloads from the catalogue may start nowhere else. */
export const CATALOGUE_HOSTS: readonly string[] = ['huggingface.co'];

const GB = 1e9;
const HF = 'https://huggingface.co';

function entry(use: ModelUse, params: CatalogueEntry['params'], quant: ModelQuant, url: string, approxBytes: number): CatalogueEntry {
  const kind = use === 'completion' ? 'base' : 'instruct';
  return { id: `qwen2.5-coder-${params.toLowerCase()}-${kind}-${quant.toLowerCase()}`, label: `Qwen2.5-Coder ${params} ${kind} ${quant}`, use, params, quant, url, approxBytes };
}

function baseQ8(params: CatalogueEntry['params'], bytes: number): CatalogueEntry {
  const p = params.toLowerCase();
  return entry('completion', params, 'Q8_0', `${HF}/ggml-org/Qwen2.5-Coder-${params}-Q8_0-GGUF/resolve/main/qwen2.5-coder-${p}-q8_0.gguf`, bytes);
}

function baseQ4(params: CatalogueEntry['params'], bytes: number): CatalogueEntry {
  return entry('completion', params, 'Q4_K_M', `${HF}/bartowski/Qwen2.5-Coder-${params}-GGUF/resolve/main/Qwen2.5-Coder-${params}-Q4_K_M.gguf`, bytes);
}

function instruct(params: CatalogueEntry['params'], quant: ModelQuant, bytes: number): CatalogueEntry {
  const p = params.toLowerCase();
  const q = quant.toLowerCase();
  return entry('chat', params, quant, `${HF}/Qwen/Qwen2.5-Coder-${params}-Instruct-GGUF/resolve/main/qwen2.5-coder-${p}-instruct-${q}.gguf`, bytes);
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  baseQ8('0.5B', 0.53 * GB),
  baseQ4('0.5B', 0.4 * GB),
  baseQ8('1.5B', 1.65 * GB),
  baseQ4('1.5B', 1.12 * GB),
  baseQ8('3B', 3.29 * GB),
  baseQ4('3B', 1.93 * GB),
  baseQ8('7B', 8.1 * GB),
  baseQ4('7B', 4.68 * GB),
  instruct('1.5B', 'Q8_0', 1.89 * GB),
  instruct('1.5B', 'Q4_K_M', 1.12 * GB),
  instruct('7B', 'Q8_0', 8.1 * GB),
  instruct('7B', 'Q4_K_M', 4.68 * GB),
];

/** The entry recommended on first run: small enough for any machine, good enough to be useful. */
export const RECOMMENDED_ID = 'qwen2.5-coder-1.5b-base-q8_0';

export type MemoryFit = 'fits' | 'tight' | 'too_large';

/**
 * Whether a model of `modelBytes` fits a machine with `totalMemBytes`: the weights (mapped), the
 * KV cache and the editor need room. Fits under half the memory, tight under 80%, else too large.
 */
export function memoryFit(modelBytes: number, totalMemBytes: number): MemoryFit {
  const needed = modelBytes * 1.15 + 0.5 * GB;
  if (needed <= totalMemBytes * 0.5) return 'fits';
  if (needed <= totalMemBytes * 0.8) return 'tight';
  return 'too_large';
}

/** "1.65 GB · fits in 24 GB" style detail for the picker. */
export function describeFit(e: CatalogueEntry, totalMemBytes: number): string {
  const size = `about ${(e.approxBytes / GB).toFixed(e.approxBytes < GB ? 2 : 1)} GB`;
  const mem = `${Math.round(totalMemBytes / 2 ** 30)} GiB`;
  switch (memoryFit(e.approxBytes, totalMemBytes)) {
    case 'fits':
      return `${size} · fits this machine (${mem})`;
    case 'tight':
      return `${size} · tight in ${mem}: other apps may slow it down`;
    case 'too_large':
      return `${size} · too large for ${mem}`;
  }
}
