// What the status bar item says, as plain data (no VS Code import; unit tested).
import type { EngineStatus } from './engine-controller';
import type { EngineFigures } from './completion/completion-session';

export type CompletionActivity = 'idle' | 'generating';

export interface StatusInput {
  status: EngineStatus;
  completionsEnabled: boolean;
  activity: CompletionActivity;
  last: EngineFigures | undefined;
}

export type StatusSeverity = 'normal' | 'warning' | 'error';

export interface StatusView {
  text: string;
  tooltip: string;
  severity: StatusSeverity;
  /** A short machine-readable state for tests and diagnostics. */
  state: 'off' | 'no-model' | 'loading' | 'ready' | 'generating' | 'restarting' | 'error';
}

function figures(last: EngineFigures | undefined): string {
  if (!last) return '';
  const tps = last.tokensPerSecond > 0 ? `, ${last.tokensPerSecond.toFixed(0)} tok/s` : '';
  return ` · ${Math.round(last.latencyMs)} ms${tps}`;
}

export function statusView(input: StatusInput): StatusView {
  const { status } = input;
  switch (status.kind) {
    case 'no-model':
      return { text: '$(circle-slash) Alloy: no model', tooltip: 'No model loaded: click to load a GGUF model', severity: 'warning', state: 'no-model' };
    case 'loading':
      return {
        text: `$(sync~spin) Alloy: loading ${Math.round(status.fraction * 100)}%`,
        tooltip: `Loading ${status.model}`,
        severity: 'normal',
        state: 'loading',
      };
    case 'restarting':
      return { text: '$(error) Alloy: engine stopped, restarting', tooltip: `The engine stopped (${status.reason}); restarting it`, severity: 'error', state: 'restarting' };
    case 'error':
      return { text: '$(error) Alloy: error', tooltip: `${status.message}\nClick for options`, severity: 'error', state: 'error' };
    case 'ready':
      if (!input.completionsEnabled) {
        return { text: '$(circle-slash) Alloy: off', tooltip: `Completions are off (model ${status.model}); click to turn them on`, severity: 'normal', state: 'off' };
      }
      if (input.activity === 'generating') {
        return { text: `$(loading~spin) Alloy: ${status.model}`, tooltip: `Generating with ${status.model}`, severity: 'normal', state: 'generating' };
      }
      return {
        text: `$(sparkle) Alloy: ${status.model}${figures(input.last)}`,
        tooltip: `Ready: ${status.model}${input.last ? `\nLast completion ${Math.round(input.last.latencyMs)} ms` : ''}\nClick for options`,
        severity: 'normal',
        state: 'ready',
      };
  }
}
