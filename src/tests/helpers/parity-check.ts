// The forward-pass parity check: llama.cpp and our engine evaluate the same file, and we
// compare (1) the logits at every position of prompt + greedy continuation evaluated as one
// batch, (2) the logits of every incremental decode step, (3) the greedy tokens, up to the
// first step where llama.cpp's own top-1/top-2 margin is below twice the tolerance.
import { loadAddon, type ContextFaults, type ContextOptions } from '../../engine/native';
import { loadOracleModel, oracleAllLogits, oracleGreedy, topTwo, type GreedyRun } from './llama-oracle';
import type { ParityCase } from './parity-models';
import { toleranceFor } from './tolerances';

/** Deliberate engine faults (test-only switches of the addon's Context). */
export type ForwardFaults = ContextFaults;

export interface OracleRun {
  /** prompt + the first greedySteps - 1 greedy tokens: every greedy step's input. */
  sequence: number[];
  /** llama.cpp's logits for `sequence` evaluated as one batch (positions × n_vocab). */
  batch: Float32Array;
  greedy: GreedyRun;
}

export async function runOracle(c: ParityCase): Promise<OracleRun> {
  const model = await loadOracleModel(c.file(), false);
  try {
    const greedy = await oracleGreedy(model, c.prompt, c.greedySteps, c.nVocab, { kvType: c.kvType });
    const sequence = [...c.prompt, ...greedy.tokens.slice(0, -1)];
    const batch = await oracleAllLogits(model, sequence, c.nVocab, { kvType: c.kvType });
    return { sequence, batch, greedy };
  } finally {
    await model.dispose();
  }
}

export interface OursRun {
  batch: Float32Array;
  /** Our free-running greedy tokens. */
  tokens: number[];
  /** The logits each of our greedy tokens was picked from. */
  stepLogits: Float32Array[];
}

function lastRow(logits: Float32Array, nVocab: number): Float32Array {
  if (logits.length % nVocab !== 0 || logits.length === 0) throw new Error(`engine returned ${logits.length} logits for n_vocab ${nVocab}`);
  return logits.subarray(logits.length - nVocab);
}

export function runOurs(c: ParityCase, oracleRun: OracleRun, faults: ForwardFaults = {}): OursRun {
  const { Context } = loadAddon();
  const model = new (loadAddon().Model)(c.file());
  const options: ContextOptions = { nCtx: 512, threads: 1, kvType: c.kvType, faults };
  try {
    const batchCtx = new Context(model, options);
    let batch: Float32Array;
    try {
      batch = batchCtx.eval(oracleRun.sequence, true);
    } finally {
      batchCtx.dispose();
    }
    const decodeCtx = new Context(model, options);
    const run: OursRun = { batch, tokens: [], stepLogits: [] };
    try {
      let logits = lastRow(decodeCtx.eval([...c.prompt], false), c.nVocab);
      for (let step = 0; step < c.greedySteps; step++) {
        const pick = topTwo(logits).top;
        run.tokens.push(pick);
        run.stepLogits.push(logits);
        if (step + 1 < c.greedySteps) logits = lastRow(decodeCtx.eval([pick], false), c.nVocab);
      }
    } finally {
      decodeCtx.dispose();
    }
    return run;
  } finally {
    model.close();
  }
}

/** max_v |ours - ref| / max_v |ref| of one row. */
export function relativeDifference(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i] as number;
    const o = ours[i] as number;
    // NaN or infinity in our output must count as the worst difference, not compare false.
    diff = Math.max(diff, Number.isFinite(o) ? Math.abs(o - r) : Infinity);
    scale = Math.max(scale, Math.abs(r));
  }
  return diff / scale;
}

export interface ParityReport {
  name: string;
  toleranceKey: string;
  tolerance: number;
  /** Worst relative difference over the positions of the batch evaluation, and where. */
  batchMaxRel: number;
  batchWorstPosition: number;
  /** Worst relative difference over the decode steps whose input agreed with llama.cpp's. */
  decodeMaxRel: number;
  /** Greedy steps that must agree (before the first margin < 2 × tolerance) and did. */
  greedyChecked: number;
  greedyAgreed: number;
  /** Identical prefix of the whole greedy runs, whatever the margins. */
  greedyIdentical: number;
  /** llama.cpp's smallest top-1/top-2 margin over the greedy steps, relative to max |logit|. */
  oracleMinMargin: number;
  failures: string[];
}

export function compareRuns(c: ParityCase, oracleRun: OracleRun, ours: OursRun): ParityReport {
  const tolerance = toleranceFor(c.toleranceKey);
  const V = c.nVocab;
  const failures: string[] = [];
  const positions = oracleRun.sequence.length;
  if (ours.batch.length !== positions * V) failures.push(`batch: ${ours.batch.length} logits, expected ${positions} × ${V}`);

  let batchMaxRel = 0;
  let batchWorstPosition = -1;
  for (let p = 0; p < positions && ours.batch.length === positions * V; p++) {
    const rel = relativeDifference(ours.batch.subarray(p * V, (p + 1) * V), oracleRun.batch.subarray(p * V, (p + 1) * V));
    if (!(rel <= batchMaxRel)) {
      batchMaxRel = rel;
      batchWorstPosition = p;
    }
  }
  if (!(batchMaxRel <= tolerance)) failures.push(`batch logits: max relative difference ${batchMaxRel.toExponential(3)} at position ${batchWorstPosition} > ${tolerance}`);

  const g = oracleRun.greedy;
  let greedyIdentical = 0;
  while (greedyIdentical < g.tokens.length && ours.tokens[greedyIdentical] === g.tokens[greedyIdentical]) greedyIdentical++;
  // Step i's logits are comparable while every earlier token agreed (same input so far).
  let decodeMaxRel = 0;
  for (let i = 0; i <= Math.min(greedyIdentical, g.tokens.length - 1); i++) {
    const rel = relativeDifference(ours.stepLogits[i] as Float32Array, g.logits[i] as Float32Array);
    if (!(rel <= decodeMaxRel)) decodeMaxRel = rel;
  }
  if (!(decodeMaxRel <= tolerance)) failures.push(`decode logits: max relative difference ${decodeMaxRel.toExponential(3)} > ${tolerance}`);

  const relMargins = g.margins.map((m, i) => m / (g.maxAbs[i] as number));
  const firstNearTie = relMargins.findIndex((m) => m < 2 * tolerance);
  const greedyChecked = c.referenceGreedy ? c.referenceGreedy.length : firstNearTie < 0 ? g.tokens.length : firstNearTie;
  const expected = c.referenceGreedy ?? g.tokens;
  let greedyAgreed = 0;
  while (greedyAgreed < greedyChecked && ours.tokens[greedyAgreed] === expected[greedyAgreed]) greedyAgreed++;
  if (greedyAgreed < greedyChecked) {
    failures.push(
      `greedy: token ${greedyAgreed} is ${ours.tokens[greedyAgreed]}, expected ${expected[greedyAgreed]} ` +
        `(llama.cpp margin there ${relMargins[greedyAgreed]?.toExponential(2)} of max |logit|; ${greedyChecked} steps must agree)`,
    );
  }
  if (c.referenceGreedy && g.tokens.join() !== c.referenceGreedy.join()) failures.push('llama.cpp itself no longer gives the reference greedy tokens');

  return {
    name: c.name,
    toleranceKey: c.toleranceKey,
    tolerance,
    batchMaxRel,
    batchWorstPosition,
    decodeMaxRel,
    greedyChecked,
    greedyAgreed,
    greedyIdentical,
    oracleMinMargin: Math.min(...relMargins),
    failures,
  };
}

export function formatReports(title: string, reports: readonly ParityReport[]): string {
  const header = ['model', 'type', 'tolerance', 'batch max rel Δ', 'decode max rel Δ', 'greedy (must/agreed/identical)', 'min margin', 'ok'];
  const rows = reports.map((r) => [
    r.name,
    r.toleranceKey,
    r.tolerance.toExponential(0),
    r.batchMaxRel.toExponential(2),
    r.decodeMaxRel.toExponential(2),
    `${r.greedyChecked}/${r.greedyAgreed}/${r.greedyIdentical}`,
    r.oracleMinMargin.toExponential(1),
    r.failures.length === 0 ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i] as number)).join(' | ');
  return [title, line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}
