// The addon's metalPlan (native/backend/metal/plan/forward_plan.h through the binding): the
// dispatch count of a decoded token for a 24-layer qwen2 model (what the bench reports for the
// 0.5B shape), the kernels' order, and typed refusals.
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { isEngineError, loadAddon } from '../../engine/native';
import { makeTempDir } from '../helpers/paths';

const LAYERS = 24;

function model(type: string) {
  const addon = loadAddon();
  const file = path.join(makeTempDir('metal-plan'), `${type}.gguf`);
  addon.writeRandomModel(
    { arch: 'qwen2', nVocab: 512, nEmbd: 128, nLayer: LAYERS, nHead: 4, nHeadKv: 2, nFf: 256, weightType: type, tiedOutput: true },
    file,
  );
  return new addon.Model(file);
}

describe('addon metalPlan', () => {
  it('plans the same dispatches for every layer of a decoded token', () => {
    const plan = loadAddon().metalPlan(model('Q8_0'), { nTokens: 1, pos0: 63, kvCapacity: 256 });
    expect(plan.per_layer).toHaveLength(LAYERS);
    expect(new Set(plan.per_layer).size).toBe(1);
    expect(plan.per_layer[0]).toBe(6);
    expect(plan.dispatches).toBe(LAYERS * 6 + 2);
    expect(plan.dispatches).toBeLessThanOrEqual(LAYERS * 6 + 4); // issue 8's bound
    expect(plan.pipelines[0]).toBe('kernel_get_rows_q8_0');
    expect(plan.pipelines.at(-1)).toBe('kernel_mv_q8_0_norm_store');
    expect(plan.pipelines).toContain('kernel_attention_decode_f16');
    expect(plan.pipelines).toContain('kernel_mv_q8_0_norm_qkv');
    expect(plan.pipelines).toContain('kernel_rope_store_f16');
  });

  it('uses the prefill attention kernel for a batch', () => {
    const plan = loadAddon().metalPlan(model('F16'), { nTokens: 9, pos0: 0, kvCapacity: 64 });
    expect(plan.pipelines).toContain('kernel_attention_prefill_f16');
    expect(plan.pipelines).not.toContain('kernel_attention_decode_f16');
  });

  it('refuses a step past the cache and unknown options', () => {
    const addon = loadAddon();
    const m = model('Q8_0');
    for (const bad of [{ nTokens: 8, pos0: 60, kvCapacity: 64 }, { nTokens: 0 }, { tokens: 1 }]) {
      let error: unknown;
      try {
        addon.metalPlan(m, bad as never);
      } catch (e) {
        error = e;
      }
      expect(isEngineError(error) && error.kind).toBe('invalid_argument');
    }
  });
});
