// Test helper: a cursor context from a source snippet with the cursor marked by CURSOR.
import { cursorContext, type ContextWindow, type CursorContext } from '../../../extension/completion/cursor-context';

export const CURSOR = '█';

const WHOLE_FILE: ContextWindow = { prefixLines: 1000, suffixLines: 1000 };

const PATH_BY_LANGUAGE: Readonly<Record<string, string>> = {
  typescript: 'src/app.ts',
  javascript: 'src/app.js',
  python: 'pkg/module.py',
  go: 'cmd/main.go',
  rust: 'src/lib.rs',
  c: 'src/main.c',
  java: 'src/Main.java',
  ruby: 'lib/app.rb',
  shellscript: 'scripts/run.sh',
  lua: 'init.lua',
};

/** The context at CURSOR in `snippet` (the marker removed), for a file of that language. */
export function contextAt(snippet: string, languageId: string, window: ContextWindow = WHOLE_FILE): CursorContext {
  const offset = snippet.indexOf(CURSOR);
  if (offset < 0 || snippet.indexOf(CURSOR, offset + 1) >= 0) throw new Error(`the snippet needs exactly one ${CURSOR}`);
  const text = snippet.slice(0, offset) + snippet.slice(offset + CURSOR.length);
  return cursorContext(text, offset, window, PATH_BY_LANGUAGE[languageId] ?? `file.${languageId}`, languageId);
}
