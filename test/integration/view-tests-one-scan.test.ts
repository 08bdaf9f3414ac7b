/**
 * A view's tests share one run of its query: the view below counts how often each
 * of its rows is produced (a volatile function writing to a counter), and its
 * tests of every kind must report the failures counted independently here.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { writeModels, type FixtureModel } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`
    create schema src;
    create table src.counter (n bigint);
    insert into src.counter values (0);
    create function src.produced() returns bigint language sql volatile as 'update src.counter set n = n + 1 returning n';
    create table src.parents (id int);
    insert into src.parents values (1), (2);
    -- 10 rows: id 9 twice, one null id, kind 'z' twice, one negative value, parent 7 once, (a, b) = (1, 1) twice
    create table src.things (id int, kind text, value int, parent int, a int, b int);
    insert into src.things select g, 'x', g, 1, g, g from generate_series(1, 6) g;
    insert into src.things values (9, 'z', 1, 2, 1, 1), (9, 'z', -1, 7, 8, 8), (null, 'y', 2, 1, 9, 9), (10, 'y', 3, 2, 10, 10);`);
});
afterAll(() => db.drop());

const models: FixtureModel[] = [
  { name: 'core.parents', materialized: 'table', sql: 'select id from src.parents', columns: { id: { tests: ['not_null', 'unique'] } } },
  {
    name: 'staging.stg_things',
    materialized: 'view',
    sql: 'select id, kind, value, parent, a, b, src.produced() as produced from src.things',
    columns: {
      id: { tests: ['not_null', 'unique'] },
      kind: { tests: [{ accepted_values: ['x', 'y'] }] },
      value: { tests: [{ expression: 'value >= 0' }] },
      parent: { tests: [{ relationships: { to: 'core.parents', field: 'id' } }] },
      a: {},
      b: {},
      produced: {},
    },
  },
];

it('runs the view once for all its tests, with the same verdicts as one query per test', async () => {
  const dir = writeModels(models);
  // unique_combination is a table test: add it to the generated file.
  const { readFileSync, writeFileSync } = await import('node:fs');
  // A published version with the same query (the failing build below keeps it), for `seglayer test`.
  await db.knex.raw(`create schema staging; create view staging.stg_things as ${models[1]!.sql}`);
  const file = `${dir}/staging/stg_things.ts`;
  writeFileSync(file, readFileSync(file, 'utf8').replace("materialized: 'view',", "materialized: 'view', tests: [{ unique_combination: ['a', 'b'] }],"));
  const summary = await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, dir));
  const view = summary.results.find((r) => r.model === 'staging.stg_things')!;
  expect(view.status).toBe('error');
  const counted = Object.fromEntries(view.tests.map((t) => [t.name, t.failures]));
  // Independent counts from the rows inserted above.
  expect(counted).toEqual({
    'not_null(id)': 1,
    'unique(id)': 1,
    'accepted_values(kind)': 2,
    'expression(value: value >= 0)': 1,
    'relationships(parent -> core.parents.id)': 1,
    'unique_combination(a, b)': 1,
  });
  const produced = async () => Number((await db.knex.raw(`select n from src.counter`)).rows[0].n);
  expect(await produced()).toBe(10); // each of the 10 rows produced once: one run of the view

  // seglayer test on the published view: the same verdicts, from one more run of it.
  await db.knex.raw(`delete from src.things where id = 10`);
  const published = await runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, dir), { select: ['staging.stg_things'], testsOnly: true });
  expect(published.results[0]!.status).toBe('error');
  expect(Object.fromEntries(published.results[0]!.tests.map((t) => [t.name, t.failures]))).toEqual(counted);
  expect(await produced()).toBe(10 + 9);
});
