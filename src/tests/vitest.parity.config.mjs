// Parity tier: our engine against llama.cpp (node-llama-cpp) on the same GGUF files.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'),
  test: {
    include: ['src/tests/parity/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    setupFiles: ['src/tests/helpers/temp-cleanup.ts'],
    poolOptions: { forks: { singleFork: true } },
  },
});
