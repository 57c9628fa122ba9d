// `Alloy: Run Benchmark`: prompt and decode speed of the loaded model (benchmark.ts) with a
// cancellable progress notification; the result is shown, logged, and returned to the caller.
import * as vscode from 'vscode';

import { runBenchmark, type BenchmarkResult } from './benchmark';
import type { EngineController } from './engine-controller';

const PROMPT_TOKENS = 512;
const GENERATE_TOKENS = 64;
const RUNS = 3;

export function registerBenchmarkCommand(engine: EngineController, log: (line: string) => void): vscode.Disposable {
  return vscode.commands.registerCommand('alloy.runBenchmark', async (options?: { runs?: number }): Promise<BenchmarkResult | undefined> => {
    const model = engine.model;
    if (!model) {
      void vscode.window.showWarningMessage('Alloy: load a model first (Alloy: Select Model or Alloy: Download Model…).');
      return undefined;
    }
    try {
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Alloy: benchmarking', cancellable: true },
        async (progress, token) => {
          const controller = new AbortController();
          const sub = token.onCancellationRequested(() => controller.abort());
          let last = 0;
          try {
            return await runBenchmark(engine.client, model.contextSize, {
              promptTokens: PROMPT_TOKENS,
              generateTokens: GENERATE_TOKENS,
              runs: options?.runs ?? RUNS,
              signal: controller.signal,
              onProgress: (fraction, what) => {
                progress.report({ message: what, increment: 100 * (fraction - last) });
                last = fraction;
              },
            });
          } finally {
            sub.dispose();
          }
        },
      );
      const line =
        `benchmark of ${model.path}: prompt ${result.promptTokensPerSecond.toFixed(1)} tokens/s (${result.promptTokens} tokens), ` +
        `decode ${result.generateTokensPerSecond.toFixed(1)} tokens/s (${result.generateTokens} tokens), median of ${result.runs.promptTokensPerSecond.length} runs`;
      log(line);
      void vscode.window.showInformationMessage(`Alloy: ${line}`);
      return result;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log(`benchmark failed: ${message}`);
      void vscode.window.showErrorMessage(`Alloy: benchmark failed: ${message}`);
      return undefined;
    }
  });
}
