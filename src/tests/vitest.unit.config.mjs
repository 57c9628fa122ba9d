// Unit tier: pure TypeScript logic, the protocol, the engine client against the real host.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..'),
  test: {
    include: ['src/tests/unit/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    setupFiles: ['src/tests/helpers/temp-cleanup.ts'],
  },
});
