/**
 * `seglayer build` killed with SIGKILL in the middle of a model: the published
 * table is still the complete old version, and the next build removes the
 * half-built temporary relation before doing anything else.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunEvent } from '../../src/models/model-runner.ts';
import { writeModels, type FixtureModel } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const slow = (version: number, sleep: number): FixtureModel => ({
  name: 'core.slow',
  sql: `select id, ${version} as version from generate_series(1, 200) id`,
  // The slow part is a test, so the new version sits committed beside the old one meanwhile.
  columns: { id: { tests: ['unique', { expression: `pg_sleep(${sleep}) is not null` }] }, version: {} },
});
const leftovers = async () => (await db.knex.raw(`select count(*)::int as n from pg_class where relname like '\\_\\_seglayer%'`)).rows[0].n;

it('leaves the old table whole and cleans up on the next build', async () => {
  const dir = writeModels([slow(1, 0)]);
  expect((await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, dir))).ok).toBe(true);

  writeModels([slow(2, 0.02)], dir); // about 4 s of testing
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'scripts/seglayer.mjs'), 'build'], {
    env: { ...process.env, DATABASE_URL: db.url, SEGLAYER_MODELS_DIR: dir, SEGLAYER_SEGMENTS_DIR: join(dir, 'segments') /* fixture models only: no segment definitions */ },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      output += chunk;
      if (output.includes('core.slow ...')) resolve();
    });
    child.on('exit', () => reject(new Error(`build ended before it could be killed:\n${output}`)));
  });
  // wait until the new version is being written beside the old one, then kill
  for (let i = 0; i < 100 && (await leftovers()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
  expect(await leftovers()).toBe(1);
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('exit', resolve));
  await db.knex.raw(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and application_name = 'seglayer'`);

  expect((await db.knex.raw('select count(*)::int as n, min(version) as lo, max(version) as hi from core.slow')).rows[0]).toEqual({ n: 200, lo: 1, hi: 1 });

  // A fresh directory: this process has the old file's module cached.
  const next = writeModels([slow(3, 0)]);
  const events: RunEvent[] = [];
  const summary = await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, next), { onEvent: (e) => events.push(e) });
  expect(summary.ok).toBe(true);
  expect(events.find((e) => e.kind === 'cleanup')).toEqual({ kind: 'cleanup', dropped: ['core.__seglayer_tmp_slow'] });
  expect(await leftovers()).toBe(0);
  expect((await db.knex.raw('select count(*)::int as n, min(version) as lo from core.slow')).rows[0]).toEqual({ n: 200, lo: 3 });
});
