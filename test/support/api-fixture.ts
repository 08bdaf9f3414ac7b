/**
 * A real semantic API for e2e tests: its own database with demo data loaded through
 * the loader and built by the real models, then Cube behind the gateway on a free
 * port, queried by the official clients.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import cubeClient, { type CubeApi } from '@cubejs-client/core';
import { GraphQLClient } from 'graphql-request';
import { loadConfig } from '../../src/config.ts';
import { writeDemoFiles } from '../../src/demo/demo-generator.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { readMappingFile } from '../../src/load/mapping-file.ts';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { writeStatisticsAfterBuild } from '../../src/project/statistics-after-build.ts';
import { startApiServer, type ApiServer } from '../../src/serve/api-server.ts';
import { mintToken } from '../../src/serve/token-minter.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from './test-database.ts';
import { loadTestProject } from './test-project.ts';

export const TEST_API_SECRET = 'test-secret-test-secret-test-secret-0123456789';

export interface ApiFixture {
  db: TestDatabase;
  server: ApiServer;
  /** A valid token for these claims (1 h unless said otherwise). */
  token(claims: Record<string, unknown>, expiresIn?: string): Promise<string>;
  /** The official JS client, authenticated with `token`. */
  rest(token: string): CubeApi;
  /** A GraphQL client on /cubejs-api/graphql, authenticated with `token`. */
  graphql(token: string): GraphQLClient;
  /** Rows of hand-written SQL on the same database. */
  sql<T = Record<string, unknown>>(text: string, bindings?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface ApiFixtureOptions {
  users?: number;
  seed?: number;
  /** Extra environment, e.g. SEGLAYER_GOVERNANCE_FILE or SEGLAYER_API_RATE_LIMIT. */
  env?: Record<string, string>;
  /**
   * Run Cube's refresh scheduler as `serve` does (rollups built before the server listens).
   * Off by default, so tests decide when rollups exist.
   */
  scheduledRefresh?: boolean;
  /** Another project directory (a copy of this one, say); the repository by default. */
  projectRoot?: string;
  /** Load this file with this mapping file (relative to the project root) instead of demo data. */
  source?: { file: string; mapping: string };
  /** Receives the server's log lines (none are kept by default). */
  log?: (line: string) => void;
}

export async function startApiFixture(options: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const db = await createTestDatabase();
  if (options.source) {
    const mapping = readMappingFile(join(options.projectRoot ?? PROJECT_ROOT, options.source.mapping));
    await loadFile(db.url, options.source.file, { into: mapping.into, timezone: mapping.timezone, mapping: mapping.mapping });
  } else {
    const demo = await writeDemoFiles({ users: options.users ?? 400, seed: options.seed ?? 5, outDir: mkdtempSync(join(tmpdir(), 'seglayer-api-')) });
    for (const file of demo.files) await loadFile(db.url, file.path, { into: file.into });
  }
  const project = await loadTestProject({}, options.projectRoot);
  const build = await runModels(db.knex, db.url, project.models);
  if (!build.ok) throw new Error(`models did not build: ${build.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`).join('; ')}`);
  // As `build` and `start` do: the experiment_results and change_effects views read tables written from the statistics.
  await writeStatisticsAfterBuild(db.knex, project, build);
  const config = loadConfig(
    {
      SEGLAYER_HOME: mkdtempSync(join(tmpdir(), 'seglayer-home-')),
      CUBEJS_API_SECRET: TEST_API_SECRET,
      SEGLAYER_API_RATE_LIMIT: '100000',
      ...options.env,
    },
    options.projectRoot ?? PROJECT_ROOT,
  );
  const server = await startApiServer(config, { databaseUrl: db.url, port: 0, refreshSeconds: options.scheduledRefresh ? undefined : 0, log: options.log ?? (() => {}) });
  return {
    db,
    server,
    token: (claims, expiresIn = '1h') => mintToken(server.jwt, { claims, expiresIn }),
    rest: (token) => cubeClient(token, { apiUrl: server.apiUrl }),
    graphql: (token) => new GraphQLClient(`${server.url}/cubejs-api/graphql`, { headers: { authorization: `Bearer ${token}` } }),
    sql: async (text, bindings = []) => (await db.knex.raw(text, bindings as never)).rows,
    async close() {
      await server.close();
      await db.drop();
    },
  };
}
