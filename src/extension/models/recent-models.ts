// The "recently used" list of `Alloy: Select Model`, with no VS Code import.
export const MAX_RECENT_MODELS = 10;

/** `list` with `path` moved (or added) to the front, at most `max` long. */
export function withRecent(list: readonly string[], path: string, max = MAX_RECENT_MODELS): string[] {
  return [path, ...list.filter((p) => p !== path)].slice(0, max);
}

export interface ModelChoice {
  path: string;
  /** 'downloaded' (in the models folder), 'recent', or 'demo'. */
  origin: 'downloaded' | 'recent' | 'demo';
}

/**
 * What `Alloy: Select Model` offers: the downloaded files, then the recent ones not already
 * listed, then the demo; only files that exist (`exists`), each once.
 */
export function modelChoices(downloaded: readonly string[], recent: readonly string[], demo: string | undefined, exists: (p: string) => boolean): ModelChoice[] {
  const seen = new Set<string>();
  const out: ModelChoice[] = [];
  const add = (path: string, origin: ModelChoice['origin']): void => {
    if (seen.has(path) || !exists(path)) return;
    seen.add(path);
    out.push({ path, origin });
  };
  for (const p of downloaded) add(p, 'downloaded');
  for (const p of recent) add(p, 'recent');
  if (demo) add(demo, 'demo');
  return out;
}
