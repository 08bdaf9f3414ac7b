/**
 * The `mutually_exclusive_ranges` table test (src/models/column-tests.ts, dbt_utils' name):
 * within a partition, half-open ranges [lower, upper) must not overlap; a null upper bound is
 * open-ended, an empty range holds no instant. On an incremental build it judges the
 * partitions the increment touches. Fixture: core.mer_spells (incremental by key k) copies
 * raw.mer_input for the keys in raw.mer_touched.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const DEFINE = `${PROJECT_ROOT}/src/models/model-definition.ts`;
const spells = `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.mer_spells', description: 'fixture', owner: 'tests', materialized: 'incremental', incremental: { uniqueKey: 'k' },
  indexes: [['k']],
  tests: [{ mutually_exclusive_ranges: { lower_bound_column: 'lo', upper_bound_column: 'hi', partition_by: ['k', 'g'] } }],
  columns: {
    k: { description: 'key', tests: ['not_null'] }, g: { description: 'group', tests: [] }, id: { description: 'row', type: 'integer', tests: ['unique'] },
    lo: { description: 'lower bound', type: 'integer', tests: [] }, hi: { description: 'upper bound', type: 'integer', tests: [] },
  },
  build: (knex, { incremental }) => knex.raw(\`select k, g, id, lo, hi from raw.mer_input \${incremental ? 'where k in (select k from raw.mer_touched)' : ''}\`),
});
`;
const TEST = 'mutually_exclusive_ranges(lo, hi by k, g)';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create table raw.mer_input (k text, g text, id integer, lo integer, hi integer); create table raw.mer_touched (k text)`);
});
afterAll(() => db.drop());

/** Replaces key k's rows by `rows` ([g, lo, hi]) and marks only k touched. */
let nextId = 1;
const setKey = async (k: string, rows: [string, number, number | null][]) => {
  await db.knex.raw(`delete from raw.mer_input where k = ?`, [k]);
  await db.knex.raw(`truncate raw.mer_touched`);
  await db.knex.raw(`insert into raw.mer_touched values (?)`, [k]);
  for (const [g, lo, hi] of rows) await db.knex.raw(`insert into raw.mer_input values (?, ?, ?, ?, ?)`, [k, g, nextId++, lo, hi]);
};
const build = async (options: RunOptions = {}) => {
  const summary = await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, writeModels([{ name: 'core.mer_spells', sql: '', source: spells }])), options);
  const result = summary.results.find((r) => r.model === 'core.mer_spells')!;
  return { status: result.status, action: result.action, failures: result.tests.find((t) => t.name === TEST)?.failures };
};

it('passes ranges that only touch, empty ranges inside others, and separate groups; fails an overlap', async () => {
  await setKey('a', [['x', 1, 3], ['x', 3, 5], ['x', 4, 4], ['y', 2, 9], ['x', 5, null]]);
  expect(await build()).toMatchObject({ status: 'success', failures: 0 });
  await setKey('b', [['x', 1, 5], ['x', 2, 3], ['x', 4, 8]]); // nested, then overlapping the outer one
  expect(await build()).toMatchObject({ status: 'error', failures: 2 });
});

it('fails a range after an open-ended one, judging the touched partition on an increment', async () => {
  await setKey('b', [['x', 1, 2]]);
  expect(await build()).toMatchObject({ status: 'success', action: expect.stringMatching(/^incremental/), failures: 0 });
  await setKey('c', [['x', 1, null], ['x', 7, 8]]);
  expect(await build()).toMatchObject({ status: 'error', action: undefined, failures: 1 });
  // The failed build published nothing: key c is absent, and fixing it passes.
  expect((await db.knex.raw(`select count(*)::int as n from core.mer_spells where k = 'c'`)).rows[0].n).toBe(0);
  await setKey('c', [['x', 1, 7], ['x', 7, 8]]);
  expect(await build()).toMatchObject({ status: 'success', failures: 0 });
});

it('judges the whole table on a full refresh, and an overlap planted in an untouched key then fails', async () => {
  await db.knex.raw(`insert into core.mer_spells (k, g, id, lo, hi) values ('a', 'y', 999, 5, 6)`); // inside a's y range [2, 9)
  await setKey('d', [['x', 1, 2]]);
  expect(await build()).toMatchObject({ status: 'success', failures: 0 }); // the increment holds only d
  await db.knex.raw(`insert into raw.mer_input values ('a', 'y', 999, 5, 6)`);
  expect(await build({ fullRefresh: true })).toMatchObject({ status: 'error', failures: 1 });
});
