// Forward-pass parity (issue 4, "Must show" 1): our engine and llama.cpp evaluate the same
// GGUF files — stories260K, the tiny models of ../shared/models, and discriminating random
// models for every weight type, both architectures, tied and untied output. The logits at
// every position agree within the weight type's tolerance (batch and incremental decode),
// and the greedy tokens agree up to llama.cpp's first near-tie (stories260K: all 40 tokens
// equal to the README reference). Prints the measured differences as a table at the end.
import { afterAll, describe, expect, it } from 'vitest';

import { compareRuns, formatReports, runOracle, runOurs, type ParityReport } from '../helpers/parity-check';
import { randomCases, randomF32KvCases, realVocabCases, sharedCases, type ParityCase } from '../helpers/parity-models';

const reports: ParityReport[] = [];

function parityTest(c: ParityCase) {
  return async () => {
    const oracleRun = await runOracle(c);
    const report = compareRuns(c, oracleRun, runOurs(c, oracleRun));
    reports.push(report);
    expect(report.failures).toEqual([]);
  };
}

describe('forward pass matches llama.cpp', () => {
  afterAll(() => {
    console.log(formatReports('forward-pass parity (relative to max |logit|; greedy = steps that must agree / agreed / identical prefix)', reports));
  });

  describe('shared models', () => {
    for (const c of sharedCases()) it(c.name, parityTest(c));
  });
  describe('random models, F16 KV cache', () => {
    for (const c of randomCases()) it(c.name, parityTest(c));
  });
  describe('random models, F32 KV cache', () => {
    for (const c of randomF32KvCases()) it(c.name, parityTest(c));
  });
  describe('random models, real vocabularies', () => {
    for (const c of realVocabCases()) it(c.name, parityTest(c));
  });
});
