// TypeScript modules for the benchmarks, bundled with esbuild into build/bench/ (not shipped):
// bundleModules() for any set of re-exports (ipc.mjs uses it too), and the typing benchmark's set: the completion session and its engine adapter, the cursor context, the context
// ring, the settings' defaults, the engine client, and the host's own FIM prompt builder (so
// the llama.cpp side gets exactly the tokens our host would evaluate for the same request).
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const EXPORTS = `
export { EngineClient } from './src/engine/client';
export { completionPrompt } from './src/engine/host/prompts';
export { CompletionSession } from './src/extension/completion/completion-session';
export { ClientCompletionEngine } from './src/extension/completion/engine-adapter';
export { cursorContext } from './src/extension/completion/cursor-context';
export { ContextRing } from './src/extension/completion/context-ring';
export { parseSettings } from './src/extension/settings-schema';
export { RING_OPTIONS, sessionOptions } from './src/extension/completion/session-defaults';
`;

export function loadTypingModules(root) {
  return bundleModules(root, 'typing-modules', EXPORTS);
}

/** Bundles `exportsSource` (TypeScript re-exports relative to the repo root) and loads it. */
export async function bundleModules(root, name, exportsSource) {
  const esbuild = await import('esbuild');
  const outfile = path.join(root, 'build', 'bench', `${name}.cjs`);
  mkdirSync(path.dirname(outfile), { recursive: true });
  await esbuild.build({
    stdin: { contents: exportsSource, resolveDir: root, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'error',
  });
  const require = createRequire(import.meta.url);
  delete require.cache[outfile];
  return require(outfile);
}
