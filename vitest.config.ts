import { configDefaults, defineConfig } from 'vitest/config';

/** Starts one PostgreSQL server per run (or uses DATABASE_URL's); the reliability config reuses it. */
export const POSTGRES_GLOBAL_SETUP = ['test/support/postgres-global-setup.ts'];

export default defineConfig({
  test: {
    // Fault and volume tests run on their own: npm run test:reliability (vitest.reliability.config.ts).
    exclude: [...configDefaults.exclude, 'test/reliability/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores: two files at a time keeps the server and the workers from starving each other.
    maxWorkers: 2,
    projects: [
      // No database: `npx vitest run --project unit` starts no PostgreSQL.
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // One PostgreSQL server for the project; each test file gets its own database.
      { extends: true, test: { name: 'postgres', include: ['test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'], globalSetup: POSTGRES_GLOBAL_SETUP } },
    ],
  },
});
