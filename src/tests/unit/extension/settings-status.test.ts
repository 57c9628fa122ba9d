// Settings parsing (defaults, bounds, wrong types reported) and what the status bar says.
import { describe, expect, it } from 'vitest';

import { DEFAULT_EXCLUDED_LANGUAGES, needsReload, parseSettings } from '../../../extension/settings-schema';
import { statusView } from '../../../extension/status-view';

describe('settings', () => {
  it('gives the defaults when nothing is set', () => {
    const { settings, problems } = parseSettings(() => undefined);
    expect(problems).toEqual([]);
    expect(settings.completions).toMatchObject({ enabled: true, maxTokens: 64, maxLines: 8, prefixLines: 64, suffixLines: 16, speculative: true });
    expect(settings.completions.excludeLanguages).toEqual([...DEFAULT_EXCLUDED_LANGUAGES]);
    expect(settings.model.path).toBe('');
  });

  it('reads valid values and reports each bad one, keeping its default', () => {
    const values: Record<string, unknown> = {
      'completions.maxTokens': 16,
      'completions.maxLines': 0,
      'completions.enabled': 'yes',
      'completions.excludeLanguages': ['markdown', 3],
      'engine.threads': 4,
      'model.path': '  /models/qwen.gguf ',
    };
    const { settings, problems } = parseSettings((key) => values[key]);
    expect(settings.completions.maxTokens).toBe(16);
    expect(settings.completions.maxLines).toBe(8);
    expect(settings.completions.enabled).toBe(true);
    expect(settings.completions.excludeLanguages).toEqual([...DEFAULT_EXCLUDED_LANGUAGES]);
    expect(settings.engine.threads).toBe(4);
    expect(settings.model.path).toBe('/models/qwen.gguf');
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/alloy\.completions\.maxLines must be an integer from 1 to 100/);
  });

  it('asks for a reload only when the model, threads, context or backend change', () => {
    const a = parseSettings(() => undefined).settings;
    const b = parseSettings((k) => (k === 'completions.maxTokens' ? 8 : undefined)).settings;
    const c = parseSettings((k) => (k === 'engine.threads' ? 2 : undefined)).settings;
    const d = parseSettings((k) => (k === 'engine.backend' ? 'cpu' : undefined)).settings;
    expect(needsReload(a, b)).toBe(false);
    expect(needsReload(a, c)).toBe(true);
    expect(needsReload(a, d)).toBe(true);
  });

  it('reads the backend preference: auto by default, cpu or metal, anything else reported', () => {
    expect(parseSettings(() => undefined).settings.engine.backend).toBe('auto');
    expect(parseSettings((k) => (k === 'engine.backend' ? 'metal' : undefined)).settings.engine.backend).toBe('metal');
    const bad = parseSettings((k) => (k === 'engine.backend' ? 'gpu' : undefined));
    expect(bad.settings.engine.backend).toBe('auto');
    expect(bad.problems).toEqual(['alloy.engine.backend must be one of auto, cpu, metal (got "gpu"); using auto']);
  });
});

describe('status bar view', () => {
  const base = { completionsEnabled: true, activity: 'idle' as const, last: undefined };
  it('says what state the engine is in', () => {
    expect(statusView({ ...base, status: { kind: 'no-model' } }).state).toBe('no-model');
    expect(statusView({ ...base, status: { kind: 'loading', model: 'm.gguf', fraction: 0.42 } }).text).toContain('42%');
    expect(statusView({ ...base, status: { kind: 'ready', model: 'm.gguf' }, completionsEnabled: false }).state).toBe('off');
    expect(statusView({ ...base, status: { kind: 'ready', model: 'm.gguf' }, activity: 'generating' }).state).toBe('generating');
    const error = statusView({ ...base, status: { kind: 'error', model: 'm.gguf', message: 'bad file' } });
    expect(error).toMatchObject({ state: 'error', severity: 'error' });
    expect(error.tooltip).toContain('bad file');
    expect(statusView({ ...base, status: { kind: 'restarting', model: 'm.gguf', reason: 'killed' } }).severity).toBe('error');
  });

  it('shows the last latency and tokens/s when ready', () => {
    const view = statusView({ ...base, status: { kind: 'ready', model: 'm.gguf' }, last: { latencyMs: 123.4, tokensPerSecond: 41.2, reusedTokens: 0, evaluatedTokens: 1 } });
    expect(view.text).toBe('$(sparkle) Alloy: m.gguf · 123 ms, 41 tok/s');
  });
});
