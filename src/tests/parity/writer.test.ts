// Files our GGUF writer makes load in llama.cpp and evaluate to finite logits, and read back
// in our reader with the configured architecture, shapes and weight types — for both
// architectures, tied and untied output, and every weight type the engine supports.
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { loadAddon } from '../../engine/native';
import { loadOracleModel, oracleLastLogits } from '../helpers/llama-oracle';
import { makeTempDir, vocabPath } from '../helpers/paths';

const WEIGHT_TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];
const CASES = WEIGHT_TYPES.flatMap((weightType) =>
  (['qwen2', 'llama'] as const).flatMap((arch) => [false, true].map((tiedOutput) => ({ arch, weightType, tiedOutput }))),
);

describe('GGUF writer output loads in llama.cpp', () => {
  let dir = '';
  beforeAll(() => {
    dir = makeTempDir('writer');
  });

  it.each(CASES)('$arch $weightType tied=$tiedOutput', async ({ arch, weightType, tiedOutput }) => {
    const file = path.join(dir, `${arch}-${weightType}-${tiedOutput ? 'tied' : 'untied'}.gguf`);
    loadAddon().writeRandomModel(
      { arch, weightType, tiedOutput, nEmbd: 256, nLayer: 2, nHead: 4, nHeadKv: 2, nFf: 512, seed: 7, vocabPath: vocabPath('deepseek-coder') },
      file,
    );

    const ours = new (loadAddon().Model)(file);
    const info = ours.info();
    ours.close();
    expect(info.arch).toBe(arch);
    expect(info.n_layer).toBe(2);
    expect(info.n_embd).toBe(256);
    expect(info.n_vocab).toBe(32256);
    const matrices = 2 * 7 + 1 + (tiedOutput ? 0 : 1);
    const vectors = 2 * 2 + 1 + (arch === 'qwen2' ? 2 * 3 : 0);
    const expectedTypes = weightType === 'F32' ? { F32: matrices + vectors } : { [weightType]: matrices, F32: vectors };
    expect(info.tensor_types).toEqual(expectedTypes);

    const model = await loadOracleModel(file, false);
    try {
      const logits = await oracleLastLogits(model, [32013, 1551, 12606, 249], 32256);
      expect(logits.length).toBe(32256);
      expect(logits.every(Number.isFinite)).toBe(true);
      expect(Math.max(...logits) - Math.min(...logits)).toBeGreaterThan(0);
    } finally {
      await model.dispose();
    }
  });
});
