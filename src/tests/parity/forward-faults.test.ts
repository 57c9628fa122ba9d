// The forward parity tier catches real bugs (issue 4, "Must show" 2): with each deliberate
// engine fault switched on, the very check forward.test.ts applies fails on every random
// model of the tier the fault applies to, and the logits move by a clear factor beyond the
// weight type's tolerance. Without the fault the same model passes, so the failure is the
// fault's doing.
import { afterAll, describe, expect, it } from 'vitest';

import { compareRuns, formatReports, runOracle, runOurs, type ForwardFaults, type ParityReport } from '../helpers/parity-check';
import { randomCases, type ParityCase } from '../helpers/parity-models';

/** A fault must move the logits by at least this many tolerances on every model. */
const CLEAR_FACTOR = 5;

interface Fault {
  name: string;
  faults: (c: ParityCase) => ForwardFaults;
  appliesTo: (c: ParityCase) => boolean;
}

const isQwen2 = (c: ParityCase) => c.recipe?.arch === 'qwen2';
const isBlockType = (c: ParityCase) => !['F32', 'F16', 'BF16'].includes(c.toleranceKey);

const FAULTS: Fault[] = [
  // llama rotates consecutive pairs already; the fault only changes NEOX (qwen2) models.
  { name: 'normal instead of NEOX RoPE', faults: () => ({ normalRopeInsteadOfNeox: true }), appliesTo: isQwen2 },
  { name: 'q/k/v biases dropped', faults: () => ({ dropQkvBias: true }), appliesTo: isQwen2 },
  { name: 'KV position off by one', faults: () => ({ kvPositionOffByOne: true }), appliesTo: () => true },
  { name: 'norm weights skipped', faults: () => ({ skipNormWeight: true }), appliesTo: () => true },
  { name: 'wrong block scale', faults: (c) => ({ wrongBlockScaleType: c.toleranceKey }), appliesTo: isBlockType },
];

describe('forward parity tier catches deliberate faults', () => {
  const reports: ParityReport[] = [];
  afterAll(() => {
    console.log(formatReports('forward-pass parity with deliberate faults (every row must fail: ok = NO)', reports));
    const byFault = FAULTS.map((f) => {
      const rows = reports.filter((r) => r.name.startsWith(`${f.name}:`));
      const factors = rows.map((r) => r.batchMaxRel / r.tolerance);
      return `${f.name}: ${rows.length} models, smallest max rel Δ ${Math.min(...rows.map((r) => r.batchMaxRel)).toExponential(2)}, smallest factor over tolerance ${Math.min(...factors).toFixed(1)}`;
    });
    console.log(byFault.join('\n'));
  });

  for (const model of randomCases()) {
    const applicable = FAULTS.filter((f) => f.appliesTo(model));
    it(`${model.name}: ${applicable.map((f) => f.name).join(', ')}`, async () => {
      const oracleRun = await runOracle(model);
      const clean = compareRuns(model, oracleRun, runOurs(model, oracleRun));
      expect.soft(clean.failures, 'without a fault').toEqual([]);
      for (const fault of applicable) {
        const faulty = compareRuns(model, oracleRun, runOurs(model, oracleRun, fault.faults(model)));
        reports.push({ ...faulty, name: `${fault.name}: ${model.name}` });
        expect(faulty.failures.length, fault.name).toBeGreaterThan(0);
        expect(faulty.batchMaxRel, fault.name).toBeGreaterThan(CLEAR_FACTOR * faulty.tolerance);
      }
    });
  }
});
