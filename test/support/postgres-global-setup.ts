/**
 * Starts one real PostgreSQL for the whole test run: the embedded server in a
 * throwaway directory, or the server of DATABASE_URL when it is set. Test files
 * create their own databases on it (see test-database.ts).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the test server's maintenance database. */
    pgServerUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.DATABASE_URL) {
    project.provide('pgServerUrl', process.env.DATABASE_URL);
    return async () => {};
  }
  const server = await startEmbeddedPostgres({ dataDir: join(mkdtempSync(join(tmpdir(), 'seglayer-test-')), 'pg'), ephemeral: true });
  project.provide('pgServerUrl', server.url);
  return () => server.stop();
}
