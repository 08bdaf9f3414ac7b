import { defineConfig } from 'vitest/config';

/**
 * The reliability suite (`npm run test:reliability`): fault and volume tests kept
 * out of `npm test`. Reduced counts by default; SEGLAYER_RELIABILITY_FULL=1 runs
 * the full counts. Each test prints its figures as `reliability: ...` lines.
 */
export default defineConfig({
  test: {
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/support/postgres-global-setup.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 1_800_000,
    maxWorkers: 2,
  },
});
