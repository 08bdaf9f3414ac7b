/**
 * SIGKILL `seglayer build` at random points: every published table is all old
 * or all new (checksums of the states before and after a complete build), and
 * the next build leaves no __seglayer_tmp relation and no statement of the
 * killed build running.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { reliabilityFull, spawnCli } from '../support/cli-process.ts';
import { writeModels, type FixtureModel } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const POINTS = reliabilityFull ? 20 : 5;
const TABLES = ['core.a', 'core.b', 'marts.c'];

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const version = (v: number): FixtureModel[] => [
  { name: 'core.a', materialized: 'table', sql: `select g as id, ${v} * g as value from generate_series(1, 300000) g`, columns: { id: { tests: ['unique'] }, value: {} } },
  { name: 'core.b', materialized: 'table', sql: `select id, value + ${v} as value from {{core.a}} where id % 3 = 0`, columns: { id: { tests: ['unique'] }, value: {} } },
  { name: 'marts.c', materialized: 'table', sql: `select id % 100 as id, sum(value) as value from {{core.b}} group by 1`, columns: { id: { tests: ['unique'] }, value: {} } },
];
const build = async (v: number) => {
  const summary = await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, writeModels(version(v))));
  expect(summary.ok).toBe(true);
};
const checksums = async () =>
  Object.fromEntries(
    await Promise.all(TABLES.map(async (t) => [t, (await db.knex.raw(`select md5(string_agg(x::text, ',' order by x::text)) as sum from ${t} x`)).rows[0].sum])),
  ) as Record<string, string>;
const leftovers = async () => (await db.knex.raw(`select count(*)::int as n from pg_class where relname like '\\_\\_seglayer\\_tmp%'`)).rows[0].n;
const lingering = async () =>
  (await db.knex.raw(`select count(*)::int as n from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'`)).rows[0].n;

it(`a build killed at ${POINTS} random points never publishes a partial table`, async () => {
  await build(1);
  const before = await checksums();
  await build(2);
  const after = await checksums();
  const newDir = writeModels(version(2));
  let partial = 0;
  let left = 0;
  let linger = 0;
  let old = 0;
  let fresh = 0;
  for (let point = 0; point < POINTS; point++) {
    await build(1);
    const run = spawnCli(['build'], { DATABASE_URL: db.url, SEGLAYER_MODELS_DIR: newDir, SEGLAYER_SEGMENTS_DIR: join(newDir, 'segments') /* fixture models only: no segment definitions */ });
    // The CLI takes a second or two to start; a build of these tables a few more.
    await new Promise((r) => setTimeout(r, 1500 + Math.random() * 5000));
    run.child.kill('SIGKILL');
    await run.done;
    const now = await checksums();
    for (const t of TABLES) {
      if (now[t] === before[t]) old++;
      else if (now[t] === after[t]) fresh++;
      else partial++;
    }
    await build(2); // the next build: cleans up under the lock
    left += await leftovers();
    linger += await lingering();
  }
  console.log(`reliability: build-kill points=${POINTS} partial_tables=${partial} leftovers=${left} lingering_statements=${linger} tables_old=${old} tables_new=${fresh}`);
  expect({ partial, left, linger }).toEqual({ partial: 0, left: 0, linger: 0 });
});
