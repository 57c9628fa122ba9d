// Alloy's settings as plain data: defaults, bounds and parsing, with no VS Code import so
// unit tests cover it. settings.ts reads the values from the workspace configuration and
// re-reads them on every change (no reload needed).
import type { BackendPreference } from '../engine/native';

export interface AlloySettings {
  completions: {
    enabled: boolean;
    /** Language ids never completed (e.g. 'plaintext', 'markdown'). */
    excludeLanguages: string[];
    maxTokens: number;
    maxLines: number;
    prefixLines: number;
    suffixLines: number;
    /** Characters of other-file context sent ahead of the file (0: none). */
    extraContextChars: number;
    timeBudgetMs: number;
    debounceMaxMs: number;
    speculative: boolean;
  };
  engine: {
    /** 0: the engine's default (about one per physical core). */
    threads: number;
    /** KV positions per slot; 0: the model's training context, at most 4096. */
    contextSize: number;
    /** 'auto': Metal when it can run, else the CPU; 'cpu' / 'metal' force one. */
    backend: BackendPreference;
  };
  model: {
    /** GGUF file used for completions; '' = none chosen yet. */
    path: string;
  };
  chat: {
    /** GGUF file for the chat panel; '' = the completion model. */
    modelPath: string;
    systemPrompt: string;
    maxTokens: number;
  };
}

interface IntSpec {
  key: string;
  min: number;
  max: number;
  fallback: number;
}

const INTS = {
  maxTokens: { key: 'completions.maxTokens', min: 1, max: 512, fallback: 64 },
  maxLines: { key: 'completions.maxLines', min: 1, max: 100, fallback: 8 },
  // At least the lines the suggestion cache keys on (cursor-context.ts), so speculative results match.
  prefixLines: { key: 'completions.contextLines.prefix', min: 16, max: 2000, fallback: 64 },
  suffixLines: { key: 'completions.contextLines.suffix', min: 0, max: 2000, fallback: 16 },
  extraContextChars: { key: 'completions.extraContext.chars', min: 0, max: 100_000, fallback: 6000 },
  timeBudgetMs: { key: 'completions.timeBudgetMs', min: 100, max: 60_000, fallback: 3000 },
  debounceMaxMs: { key: 'completions.debounceMaxMs', min: 0, max: 1000, fallback: 150 },
  threads: { key: 'engine.threads', min: 0, max: 256, fallback: 0 },
  contextSize: { key: 'engine.contextSize', min: 0, max: 131_072, fallback: 0 },
  chatMaxTokens: { key: 'chat.maxTokens', min: 16, max: 8192, fallback: 1024 },
} as const satisfies Record<string, IntSpec>;

export const DEFAULT_CHAT_SYSTEM_PROMPT = 'You are a helpful coding assistant. Answer concisely; put code in fenced code blocks with the language.';

export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'cpu', 'metal'];

export const DEFAULT_EXCLUDED_LANGUAGES: readonly string[] = ['plaintext', 'scminput', 'log'];

/** Reads one raw value of the `alloy.*` section (undefined when unset). */
export type SettingReader = (key: string) => unknown;

export interface ParsedSettings {
  settings: AlloySettings;
  /** One line per value that was out of range or of the wrong type (its default was used). */
  problems: string[];
}

export function parseSettings(read: SettingReader): ParsedSettings {
  const problems: string[] = [];
  const int = (spec: IntSpec): number => {
    const v = read(spec.key);
    if (v === undefined || v === null) return spec.fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < spec.min || v > spec.max) {
      problems.push(`alloy.${spec.key} must be an integer from ${spec.min} to ${spec.max} (got ${JSON.stringify(v)}); using ${spec.fallback}`);
      return spec.fallback;
    }
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = read(key);
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'boolean') {
      problems.push(`alloy.${key} must be true or false (got ${JSON.stringify(v)}); using ${fallback}`);
      return fallback;
    }
    return v;
  };
  const str = (key: string): string => {
    const v = read(key);
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') {
      problems.push(`alloy.${key} must be a string (got ${JSON.stringify(v)}); ignoring it`);
      return '';
    }
    return v.trim();
  };
  const backend = (): BackendPreference => {
    const v = read('engine.backend');
    if (v === undefined || v === null) return 'auto';
    const found = BACKEND_PREFERENCES.find((b) => b === v);
    if (found === undefined) {
      problems.push(`alloy.engine.backend must be one of ${BACKEND_PREFERENCES.join(', ')} (got ${JSON.stringify(v)}); using auto`);
      return 'auto';
    }
    return found;
  };
  const chatSystemPrompt = (): string => {
    const v = read('chat.systemPrompt');
    if (v === undefined || v === null) return DEFAULT_CHAT_SYSTEM_PROMPT;
    if (typeof v !== 'string') {
      problems.push(`alloy.chat.systemPrompt must be a string (got ${JSON.stringify(v)}); using the default`);
      return DEFAULT_CHAT_SYSTEM_PROMPT;
    }
    return v;
  };
  const languages = (): string[] => {
    const v = read('completions.excludeLanguages');
    if (v === undefined || v === null) return [...DEFAULT_EXCLUDED_LANGUAGES];
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
      problems.push(`alloy.completions.excludeLanguages must be a list of language ids; using the default`);
      return [...DEFAULT_EXCLUDED_LANGUAGES];
    }
    return v as string[];
  };
  const settings: AlloySettings = {
    completions: {
      enabled: bool('completions.enabled', true),
      excludeLanguages: languages(),
      maxTokens: int(INTS.maxTokens),
      maxLines: int(INTS.maxLines),
      prefixLines: int(INTS.prefixLines),
      suffixLines: int(INTS.suffixLines),
      extraContextChars: int(INTS.extraContextChars),
      timeBudgetMs: int(INTS.timeBudgetMs),
      debounceMaxMs: int(INTS.debounceMaxMs),
      speculative: bool('completions.speculative', true),
    },
    engine: { threads: int(INTS.threads), contextSize: int(INTS.contextSize), backend: backend() },
    model: { path: str('model.path') },
    chat: { modelPath: str('chat.model.path'), systemPrompt: chatSystemPrompt(), maxTokens: int(INTS.chatMaxTokens) },
  };
  return { settings, problems };
}

/** What changed between two settings that needs the model reloaded (path, threads, context, backend). */
export function needsReload(a: AlloySettings, b: AlloySettings): boolean {
  return (
    a.model.path !== b.model.path ||
    a.engine.threads !== b.engine.threads ||
    a.engine.contextSize !== b.engine.contextSize ||
    a.engine.backend !== b.engine.backend
  );
}
