// Configuration for @vscode/test-cli (`npx vscode-test`, and the VS Code
// "Extension Test Runner"): the integration suite in desktop VS Code, set up
// like src/tests/integration/run.mjs runs it (`npm run test:integration`):
// the same VS Code version, extension, workspace, isolation flags and mocha options.
//
// Difference: test-cli loads each compiled suite file itself (mocha.addFile),
// while run.mjs loads dist/tests/integration/index.js, which bundles the same
// suite files and writes the ALLOY_TEST_RESULTS file. So the suite files must
// also be bundled one by one into dist/tests/integration/*.test.js (esbuild.mjs).
import { defineConfig } from '@vscode/test-cli';

export default defineConfig({
  label: 'integration',
  files: 'dist/tests/integration/**/*.test.js',
  // the VS Code that the code-server route embeds (code-server 4.100.3)
  version: '1.100.3',
  extensionDevelopmentPath: '.',
  workspaceFolder: './src/tests/integration/workspace',
  // no other installed extensions; test-cli adds --disable-workspace-trust and
  // its own user-data/extensions folders under .vscode-test/
  launchArgs: ['--disable-extensions'],
  // the same options as MOCHA_OPTIONS in src/tests/integration/index.ts
  mocha: { ui: 'tdd', color: false, timeout: 60_000, slow: 10_000 },
});
