/**
 * `incremental.skipUnchanged` (src/models/materializations/unchanged-keys.ts): a key whose rows the incremental query
 * returns exactly as published is left alone: its rows are not rewritten (their physical places stay) and it is no
 * change; a key with any difference (a value, one row more or fewer, one of two equal rows gone) is replaced whole.
 * Fixture: core.su_items, incremental by k with several rows per key, copies raw.su_input for the keys in raw.su_touched.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const DEFINE = `${PROJECT_ROOT}/src/models/model-definition.ts`;
const items = (options = `skipUnchanged: true`) => `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.su_items', description: 'fixture', owner: 'tests', materialized: 'incremental',
  incremental: { uniqueKey: 'k', ${options} }, keepChanges: {}, indexes: [['k']],
  columns: {
    k: { description: 'key', tests: ['not_null'] },
    n: { description: 'n', type: 'integer', tests: [] },
    note: { description: 'note', type: 'text', tests: [] },
  },
  build: (knex, { incremental }) => knex.raw(\`select k, n, note from raw.su_input \${incremental ? 'where k in (select k from raw.su_touched)' : ''}\`),
});
`;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create table raw.su_input (k text, n integer, note text); create table raw.su_touched (k text)`);
  await db.knex.raw(`insert into raw.su_input values ('a', 1, 'x'), ('a', 2, null), ('b', 1, 'x'), ('b', 2, 'y'), ('c', 1, 'x'), ('c', 2, 'x'), ('e', 5, 'z'), ('e', 5, 'z')`);
});
afterAll(() => db.drop());

const build = async (options?: string) => {
  const summary = await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, writeModels([{ name: 'core.su_items', sql: '', source: items(options) }])), {});
  const result = summary.results.find((r) => r.model === 'core.su_items')!;
  expect(result.error).toBeUndefined();
  return result.action;
};
const places = async (k: string) => (await db.knex.raw(`select ctid::text as place from core.su_items where k = ? order by ctid`, [k])).rows.map((r: { place: string }) => r.place);
const published = async () => (await db.knex.raw(`select k, n, note from core.su_items order by 1, 2, 3`)).rows;
const expected = async () => (await db.knex.raw(`select k, n, note from raw.su_input order by 1, 2, 3`)).rows;
const touch = async (...keys: string[]) => {
  await db.knex.raw(`truncate raw.su_touched`);
  await db.knex.raw(`insert into raw.su_touched select unnest(?::text[])`, [keys]);
};

it('leaves keys that come out as published alone and replaces the others whole', async () => {
  expect(await build()).toBe('created');
  const before = { a: await places('a'), b: await places('b') };

  await db.knex.raw(`update raw.su_input set note = 'changed' where k = 'b' and n = 2`); // b: a value
  await db.knex.raw(`delete from raw.su_input where k = 'c' and n = 2`); // c: one row fewer
  await db.knex.raw(`delete from raw.su_input where ctid = (select min(ctid) from raw.su_input where k = 'e')`); // e: one of two equal rows
  await db.knex.raw(`insert into raw.su_input values ('d', 1, null)`); // d: new
  await touch('a', 'b', 'c', 'd', 'e'); // a: the same rows (a null among them)
  expect(await build()).toBe('incremental: 5 rows by k (2 unchanged left alone)');
  expect(await published()).toEqual(await expected());
  expect(await places('a')).toEqual(before.a); // not rewritten
  expect(await places('b')).not.toEqual(before.b);
  const kept = (await db.knex.raw(`select change, k, n, note from core.__seglayer_changes_su_items order by 2, 1, 3`)).rows;
  expect(kept).toEqual([
    { change: 'added', k: 'b', n: 2, note: 'changed' }, { change: 'removed', k: 'b', n: 2, note: 'y' },
    { change: 'removed', k: 'c', n: 2, note: 'x' },
    { change: 'added', k: 'd', n: 1, note: null },
    { change: 'removed', k: 'e', n: 5, note: 'z' },
  ]);
});

it('without the option, rewrites every key the query returns', async () => {
  await touch('a');
  const before = await places('a');
  expect(await build(`skipUnchanged: false`)).toBe('incremental: 2 rows by k');
  expect(await places('a')).not.toEqual(before);
  expect(await published()).toEqual(await expected());
});

it('is refused beside a window or replaceFrom, at the field', async () => {
  const window = items(`skipUnchanged: true, windowColumn: 'n', lookback: '1 day'`);
  await expect(discoverModels(PROJECT_ROOT, writeModels([{ name: 'core.su_items', sql: '', source: window }]))).rejects.toThrow(/core\/su_items\.ts.*skipUnchanged needs a uniqueKey and no windowColumn/s);
  const ranges = items().replace("keepChanges: {},", "keepChanges: {}, replaceFrom: { column: 'n', keys: (knex) => knex.raw('select k as user_key, null::int as replace_from from raw.su_touched') },");
  await expect(discoverModels(PROJECT_ROOT, writeModels([{ name: 'core.su_items', sql: '', source: ranges }]))).rejects.toThrow(/core\/su_items\.ts.*incremental\.skipUnchanged.*cannot skip unchanged keys/s);
});
