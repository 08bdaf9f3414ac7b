/**
 * replaceFrom (src/models/materializations/incremental.ts): an incremental build replaces each named
 * key's rows from a point on (all of them for a null point or a stale key) and nothing else, keeps
 * the exact changes of that narrower delete, and fails without publishing when a built row lies
 * outside the replaced ranges. Fixture: core.rf_items copies raw.rf_input (k, d, v); an incremental
 * build selects, for each key in raw.rf_from (as the runner stages them: incremental.replaced), its rows
 * from `d >= replace_from` on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverModels, ModelDefinitionError } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { writeModels } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const DEFINE = `${PROJECT_ROOT}/src/models/model-definition.ts`;
/**
 * The delete takes one of three ways by the model's indexes: each range by its own probe of an index on (key, column), the
 * keys' rows by one bitmap of an index on the key, or a hash of the ranges; every behaviour below is checked in each.
 */
const SHAPES = [['key and column', "[['k', 'd']]"], ['key', "[['k']]"], ['none', '[]']] as const;
const suffix = (shape: string) => shape.replace(/ /g, '_');

/** `slack` widens the query below each range, as a model with a wrong replaceFrom would. */
const items = (shape: string, indexes: string, slack = 0) => `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.rf_items_${suffix(shape)}', description: 'fixture', owner: 'tests', materialized: 'incremental',
  incremental: { uniqueKey: 'k' }, keepChanges: {}, indexes: ${indexes},
  tests: [{ unique_combination: ['k', 'd'] }],
  staleKeys: (knex) => knex.raw('select k from raw.rf_gone'),
  replaceFrom: { column: 'd', keys: (knex) => knex.raw('select k, replace_from from raw.rf_from') },
  columns: {
    k: { description: 'key', tests: ['not_null'] },
    d: { description: 'position', type: 'integer', tests: ['not_null'] },
    v: { description: 'value', type: 'integer', tests: [] },
  },
  build: (knex, { incremental }) => knex.raw(\`select i.k, i.d, i.v from raw.rf_input i
    \${incremental ? \`join \${incremental.replaced} f on f.k = i.k and (f.replace_from is null or i.d >= f.replace_from - ${slack})\` : ''}\`),
});
`;

/** Ranges per key and group (`by: ['g']`): a key's rows of another group are kept. */
const groups = (shape: string, indexes: string) => `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.rf_groups_${suffix(shape)}', description: 'fixture', owner: 'tests', materialized: 'incremental',
  incremental: { uniqueKey: 'k' }, keepChanges: {}, indexes: ${indexes},
  staleKeys: (knex) => knex.raw('select k from raw.rf_ggone'),
  replaceFrom: { column: 'd', by: ['g'], keys: (knex) => knex.raw('select k, g, replace_from from raw.rf_granges') },
  columns: { k: { description: 'key' }, g: { description: 'group' }, d: { description: 'position', type: 'integer' }, v: { description: 'value', type: 'integer' } },
  build: (knex, { incremental }) => knex.raw(\`select i.k, i.g, i.d, i.v from raw.rf_ginput i
    \${incremental ? \`where exists (select 1 from \${incremental.replaced} f where f.k = i.k and (f.g is null or f.g = i.g) and (f.replace_from is null or i.d >= f.replace_from))\` : ''}\`),
});
`;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create table raw.rf_input (k text, d integer, v integer); create table raw.rf_from (k text, replace_from integer); create table raw.rf_gone (k text)`);
  await db.knex.raw(`create table raw.rf_ginput (k text, g text, d integer, v integer); create table raw.rf_granges (k text, g text, replace_from integer); create table raw.rf_ggone (k text)`);
});
afterAll(() => db.drop());

/** Sets raw.rf_input's rows to `input` (k, d, v) and the ranges to replace. */
const state = async (input: [string, number, number][], from: [string, number | null][], gone: string[] = []) => {
  await db.knex.raw(`truncate raw.rf_input, raw.rf_from, raw.rf_gone`);
  for (const row of input) await db.knex.raw(`insert into raw.rf_input values (?, ?, ?)`, row);
  for (const row of from) await db.knex.raw(`insert into raw.rf_from values (?, ?)`, row);
  for (const k of gone) await db.knex.raw(`insert into raw.rf_gone values (?)`, [k]);
};

describe.each(SHAPES)('with indexes on %s', (shape, indexes) => {
  const table = `core.rf_items_${suffix(shape)}`;
  const build = async (slack?: number) => {
    const summary = await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, writeModels([{ name: table, sql: '', source: items(shape, indexes, slack) }])));
    return summary.results[0]!;
  };
  const rows = async (relation = table) => (await db.knex.raw(`select k || d || '=' || coalesce(v::text, '-') as row from ${relation} order by k, d`)).rows.map((r: { row: string }) => r.row);

  it('replaces a key from its point on, a null point wholly, a stale key wholly, and keeps the exact changes', async () => {
    await state([['a', 1, 1], ['a', 2, 2], ['a', 3, 3], ['b', 1, 1], ['b', 2, 2], ['c', 1, 1]], []);
    expect((await build()).action).toBe('created');
    // Every input row changes; only the replaced ranges may show it.
    await state([['a', 1, 10], ['a', 2, 20], ['a', 4, 40], ['b', 1, 10], ['b', 2, 20]], [['a', 2], ['b', null]], ['c']);
    const result = await build();
    expect(result.action).toBe('incremental: 4 rows by k from d');
    // a1 kept (before a's point), a2 replaced, a3 gone (no new row in its range), a4 new; b wholly replaced; c gone.
    expect(await rows()).toEqual(['a1=1', 'a2=20', 'a4=40', 'b1=10', 'b2=20']);
    expect(result.rows).toBe(5);
    const changes = (await db.knex.raw(`select change || ':' || k || d || '=' || v as row from core.__seglayer_changes_rf_items_${suffix(shape)} order by 1`)).rows.map((r: { row: string }) => r.row);
    expect(changes).toEqual(['added:a2=20', 'added:a4=40', 'added:b1=10', 'added:b2=20', 'removed:a2=2', 'removed:a3=3', 'removed:b1=1', 'removed:b2=2', 'removed:c1=1']);
  });

  it('fails, publishing nothing, when a built row lies below its key\'s point', async () => {
    const before = await rows();
    await state([['a', 1, 100], ['a', 2, 200]], [['a', 2]]);
    const result = await build(1); // the query reads a1 too, which the delete keeps: it would be duplicated
    expect(result.status).toBe('error');
    expect(result.error).toMatch(/1 built row\(s\) outside the ranges replaceFrom replaces/);
    expect(await rows()).toEqual(before);
  });

  it('replaces ranges per key and group, and a row in two ranges (a stale key\'s too) once', async () => {
    const name = `core.rf_groups_${suffix(shape)}`;
    const run = async () => (await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, writeModels([{ name, sql: '', source: groups(shape, indexes) }])))).results[0]!;
    await db.knex.raw(`truncate raw.rf_ginput, raw.rf_granges, raw.rf_ggone`);
    await db.knex.raw(`insert into raw.rf_ginput values ('a', 'x', 1, 1), ('a', 'x', 2, 2), ('a', 'y', 1, 1), ('a', 'y', 2, 2), ('c', 'x', 1, 1)`);
    expect((await run()).action).toBe('created');
    await db.knex.raw(`update raw.rf_ginput set v = v * 10; delete from raw.rf_ginput where k = 'c'`);
    await db.knex.raw(`insert into raw.rf_granges values ('a', 'x', 2), ('c', 'x', 1); insert into raw.rf_ggone values ('c')`);
    const result = await run();
    expect(result.action).toBe('incremental: 1 rows by k from d');
    const rows = (await db.knex.raw(`select k || g || d || '=' || v as row from ${name} order by 1`)).rows.map((r: { row: string }) => r.row);
    expect(rows).toEqual(['ax1=1', 'ax2=20', 'ay1=1', 'ay2=2']);
    expect(result.rows).toBe(4); // 5 - 2 deleted + 1: c's row counted once
    const changes = (await db.knex.raw(`select change || ':' || k || g || d || '=' || v as row from core.__seglayer_changes_rf_groups_${suffix(shape)} order by 1`)).rows.map((r: { row: string }) => r.row);
    expect(changes).toEqual(['added:ax2=20', 'removed:ax2=2', 'removed:cx1=1']);
  });
});

it('is refused where it cannot apply: a table, a windowed model, an undeclared column', async () => {
  const model = (name: string, options: string) => ({ name, sql: '', source: `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: '${name}', description: 'fixture', owner: 'tests', ${options},
  replaceFrom: { column: 'd', keys: (knex) => knex.raw('select 1 as k, 1 as replace_from') },
  columns: { k: { description: 'key' }, d: { description: 'day' } },
  build: (knex) => knex.raw('select 1 as k, 1 as d'),
});
` });
  const attempt = discoverModels(PROJECT_ROOT, writeModels([
    model('core.rf_table', `materialized: 'table'`),
    model('core.rf_window', `materialized: 'incremental', incremental: { uniqueKey: 'k', windowColumn: 'd', lookback: '1 day' }`),
  ]));
  await expect(attempt).rejects.toThrow(ModelDefinitionError);
  const message = await attempt.catch((e: Error) => e.message);
  expect(message).toMatch(/core\/rf_table\.ts replaceFrom: only an incremental model with a one-column uniqueKey, no windowColumn/);
  expect(message).toMatch(/core\/rf_window\.ts replaceFrom: only an incremental model with a one-column uniqueKey, no windowColumn/);
  const undeclared = discoverModels(PROJECT_ROOT, writeModels([{ ...model('core.rf_column', `materialized: 'incremental', incremental: { uniqueKey: 'k' }`), source: model('core.rf_column', `materialized: 'incremental', incremental: { uniqueKey: 'k' }`).source.replace("column: 'd'", "column: 'day'") }]));
  expect(await undeclared.catch((e: Error) => e.message)).toMatch(/core\/rf_column\.ts replaceFrom\.column: "day" is not a declared column/);
});
