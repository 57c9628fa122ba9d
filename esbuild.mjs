// Bundles the TypeScript entries into dist/. The native addon (.node) stays external:
// it is loaded at run time from build/Release (development) or dist/ (packaged).
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'info',
  external: ['vscode', '*.node'],
};

const entries = [
  { entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['src/engine/engine-host.ts'], outfile: 'dist/engine-host.js' },
  {
    entryPoints: ['src/engine/cli.ts'],
    outfile: 'dist/cli.js',
    banner: { js: '#!/usr/bin/env node' },
  },
  // The integration suite runs inside the VS Code extension host: index.js for our runner,
  // one file per suite for @vscode/test-cli (.vscode-test.mjs).
  { entryPoints: ['src/tests/integration/index.ts'], outfile: 'dist/tests/integration/index.js', external: ['vscode', '*.node', 'mocha'] },
  { entryPoints: ['src/tests/integration/*.test.ts'], outdir: 'dist/tests/integration', external: ['vscode', '*.node', 'mocha'] },
  // The chat webview runs in the browser sandbox of a VS Code webview: one self-contained script
  // (marked, DOMPurify, highlight.js bundled in) and one stylesheet, no externals.
  { entryPoints: ['src/webview/chat/main.ts'], outfile: 'dist/webview/chat.js', platform: 'browser', format: 'iife', target: 'es2022', external: [] },
  { entryPoints: ['src/webview/chat/chat.css'], outfile: 'dist/webview/chat.css', external: [] },
];

const contexts = await Promise.all(entries.map((e) => esbuild.context({ ...common, ...e })));
if (watch) {
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}
