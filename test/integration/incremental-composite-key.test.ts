/**
 * Incremental models keyed by several columns (an aggregate's cell) with tombstones: an
 * incremental run replaces the published rows whose composite key its query returns, deletes
 * those its tombstones (rows matching `tombstoneWhere`) and its staleKeys name, and keeps the
 * rest; tombstones are neither inserted, tested nor kept as changes. Fixture: core.cells copies
 * raw.cells on a full build and raw.cells_next (the changed cells, `n = 0` for a cell that
 * goes) on an incremental one; raw.cells_stale names keys that go without a tombstone.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const cells = `import { defineModel } from '${PROJECT_ROOT}/src/models/model-definition.ts';
export default defineModel({
  name: 'core.cells', description: 'fixture', owner: 'tests', materialized: 'incremental',
  incremental: { uniqueKey: ['g', 'day'], tombstoneWhere: 'n = 0' }, keepChanges: {}, indexes: [['g', 'day']],
  tests: [{ unique_combination: ['g', 'day'] }],
  columns: {
    g: { description: 'group', tests: ['not_null'] },
    day: { description: 'day', type: 'integer', tests: ['not_null'] },
    n: { description: 'count', type: 'integer', tests: [{ expression: 'n > 0' }] },
  },
  staleKeys: (knex) => knex.raw('select g, day from raw.cells_stale'),
  build: (knex, { incremental }) => knex.raw(incremental ? 'select g, day, n from raw.cells_next' : 'select g, day, n from raw.cells'),
});
`;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create table raw.cells (g text, day integer, n integer); create table raw.cells_next (like raw.cells); create table raw.cells_stale (g text, day integer)`);
  await db.knex.raw(`insert into raw.cells values ('a', 1, 1), ('a', 2, 2), ('b', 1, 3), ('b', 2, 4), ('c', 1, 5)`);
});
afterAll(() => db.drop());

const build = async () => {
  const summary = await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, writeModels([{ name: 'core.cells', sql: '', source: cells }])));
  return summary.results[0]!;
};
const rows = async (table: string) => (await db.knex.raw(`select ${table === 'core.cells' ? '' : 'change, '}g, day, n from ${table} order by 1, 2, 3`)).rows;
const next = async (values: string, stale = '') => {
  await db.knex.raw(`truncate raw.cells_next; truncate raw.cells_stale`);
  if (values) await db.knex.raw(`insert into raw.cells_next values ${values}`);
  if (stale) await db.knex.raw(`insert into raw.cells_stale values ${stale}`);
};

it('replaces the cells its query returns by the composite key, deletes tombstoned and stale ones, keeps the rest', async () => {
  expect((await build()).action).toBe('created');
  // a/2 changes, b/1 is a tombstone, b/3 is new, c/1 is stale; a/1 and b/2 share a key part with changed cells and stay.
  await next(`('a', 2, 20), ('b', 1, 0), ('b', 3, 6)`, `('c', 1)`);
  const result = await build();
  expect(result.status).toBe('success');
  expect(result.action).toBe('incremental: 2 rows by g, day');
  expect(await rows('core.cells')).toEqual([
    { g: 'a', day: 1, n: 1 }, { g: 'a', day: 2, n: 20 }, { g: 'b', day: 2, n: 4 }, { g: 'b', day: 3, n: 6 },
  ]);
  expect(result.rows).toBe(4);
  // The kept changes are the published difference: tombstones only as the rows they removed.
  expect(await rows('core.__seglayer_changes_cells')).toEqual([
    { change: 'added', g: 'a', day: 2, n: 20 }, { change: 'added', g: 'b', day: 3, n: 6 },
    { change: 'removed', g: 'a', day: 2, n: 2 }, { change: 'removed', g: 'b', day: 1, n: 3 }, { change: 'removed', g: 'c', day: 1, n: 5 },
  ]);
});

it('tests the rows it inserts, not the tombstones; a key duplicated in the increment fails and publishes nothing', async () => {
  await next(`('a', 1, 0)`);
  expect((await build()).status).toBe('success'); // n > 0 holds for every inserted row: the tombstone is not judged
  expect((await rows('core.cells')).map((r: { g: string; day: number }) => `${r.g}${r.day}`)).toEqual(['a2', 'b2', 'b3']);
  await next(`('d', 1, 1), ('d', 1, 2)`);
  const failed = await build();
  expect(failed.status).toBe('error');
  expect(failed.error).toContain('unique_combination(g, day)');
  expect((await rows('core.cells')).map((r: { g: string; day: number }) => `${r.g}${r.day}`)).toEqual(['a2', 'b2', 'b3']);
});
