import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fault and volume tests run on their own: npm run test:reliability (vitest.reliability.config.ts).
    exclude: [...configDefaults.exclude, 'test/reliability/**'],
    // One PostgreSQL server per test run; each test file gets its own database.
    globalSetup: ['test/support/postgres-global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: two files at a time keeps the server and the workers from starving each other.
    maxWorkers: 2,
  },
});
