/**
 * Faults around a build: the build lock's connection dies, the build process is
 * killed mid-statement, and the server under `db serve` goes away.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopEmbeddedPostgres } from '../../src/database/embedded-postgres.ts';
import { BuildLockLostError } from '../../src/models/build-lock.ts';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const activeOthers = async () =>
  (await db.knex.raw(`select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state = 'active'`)).rows[0].n;

it('losing the build lock connection stops the build with a clear error instead of crashing', async () => {
  const models = await discoverModels(PROJECT_ROOT, writeModels([
    { name: 'core.first', sql: 'select 1 as id from pg_sleep(1.5)' },
    { name: 'core.second', sql: 'select id from {{core.first}}' },
  ]));
  const build = runModels(db.knex, db.url, models);
  await new Promise((r) => setTimeout(r, 500));
  await db.knex.raw(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name = 'seglayer build lock'`);
  const error = await build.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(BuildLockLostError);
  expect((error as Error).message).toMatch(/the build lock's connection to PostgreSQL was lost .*models not yet published keep their previous version/);
  expect((await db.knex.raw(`select count(*)::int as n from pg_class where relname in ('first', 'second')`)).rows[0].n).toBe(0);
});

it("a killed build's statement does not keep running in PostgreSQL", async () => {
  const dir = writeModels([{ name: 'core.sleepy', sql: 'select 1 as id from pg_sleep(60)' }]);
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts/seglayer.mjs'), 'build'], {
    env: { ...process.env, DATABASE_URL: db.url, SEGLAYER_MODELS_DIR: dir, SEGLAYER_SEGMENTS_DIR: join(dir, 'segments') /* fixture models only: no segment definitions */ },
    stdio: 'ignore',
  });
  for (let i = 0; (await activeOthers()) === 0; i++) {
    if (i > 400) throw new Error('the build never started its statement');
    await new Promise((r) => setTimeout(r, 25));
  }
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 5_000;
  while ((await activeOthers()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(await activeOthers()).toBe(0);
  expect((await db.knex.raw(`select count(*)::int as n from pg_class where relname like '%sleepy'`)).rows[0].n).toBe(0);
});

it('`db serve` says so and exits non-zero when its PostgreSQL goes away', async () => {
  const home = mkdtempSync(join(tmpdir(), 'seglayer-serve-'));
  try {
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts/seglayer.mjs'), 'db', 'serve'], {
      env: { ...process.env, SEGLAYER_HOME: home, DATABASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    while (!output.includes('press Ctrl-C')) {
      if (child.exitCode !== null) throw new Error(output);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await stopEmbeddedPostgres(join(home, 'pg'))).toBe(true);
    expect(await exited).toBe(1);
    expect(output).toMatch(/error: PostgreSQL stopped: embedded PostgreSQL in .* is gone/);
  } finally {
    await stopEmbeddedPostgres(join(home, 'pg')).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  }
});
