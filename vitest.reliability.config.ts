/**
 * The reliability suite (`npm run test:reliability`): fault injection and soaks
 * on the same real PostgreSQL as the main suite. Reduced counts by default;
 * SEGLAYER_RELIABILITY_FULL=1 runs the full ones. One file at a time: the tests
 * measure timing and memory, and kill processes.
 */
import { defineConfig } from 'vitest/config';
import { POSTGRES_GLOBAL_SETUP } from './vitest.config.ts';

export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: POSTGRES_GLOBAL_SETUP,
    testTimeout: 1_800_000,
    hookTimeout: 600_000,
    maxWorkers: 1,
    // api-soak judges the live heap after a full collection (global gc).
    execArgv: ['--expose-gc'],
  },
});
