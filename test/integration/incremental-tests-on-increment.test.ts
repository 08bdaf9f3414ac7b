/**
 * Tests on the increment: an incremental build judges the rows it adds (not_null,
 * accepted_values, expression, relationships) and looks up only their keys for
 * unique / unique_combination (through the key's index where the model declares
 * one), yet a bad added row still fails the build and
 * nothing is published. Rows kept from earlier builds are not judged again while
 * the declared tests are unchanged (planted by hand here, as a bug or a hand edit
 * would); `seglayer test`, --full-refresh and a change to the declared tests judge
 * the whole table.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import { writeModels, type FixtureModel } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const DEFINE = `${PROJECT_ROOT}/src/models/model-definition.ts`;
let db: TestDatabase;

const parents: FixtureModel = { name: 'core.parents', materialized: 'table', sql: 'select id from src.parents', columns: { id: { tests: ['not_null', 'unique'] } } };
/** An incremental model over src.readings: the last hour is rebuilt; `extraTest` changes the declared tests. */
const readings = (extraTest = ''): FixtureModel => ({
  name: 'core.readings',
  sql: '',
  source: `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.readings', description: 'fixture', owner: 'tests', materialized: 'incremental',
  incremental: { windowColumn: 'ts', lookback: '1 hour' },
  indexes: [['id']],
  partialIndexes: [{ name: 'positive', columns: ['ts'], where: 'value > 0' }],
  tests: [{ unique_combination: ['a', 'b'] }, { unique_combination: ['id', 'b'] }],
  columns: {
    id: { description: 'id', tests: ['not_null', 'unique'] },
    kind: { description: 'kind', tests: [{ accepted_values: ['x', 'y'] }] },
    value: { description: 'value', tests: [{ expression: 'value >= 0' }${extraTest}] },
    parent: { description: 'parent', tests: [{ relationships: { to: 'core.parents', field: 'id' } }] },
    a: { description: 'a' },
    b: { description: 'b, unique without an index', tests: ['unique'] },
    ts: { description: 'when' },
  },
  build: (knex, { ref, incremental }) => knex.raw(
    \`select id, kind, value, parent, a, b, ts from src.readings \${incremental ? 'where ts >= ?' : ''}\`,
    incremental ? [incremental.since.toISOString()] : []),
});`,
});
const models = async (extraTest?: string) => discoverModels(PROJECT_ROOT, writeModels([parents, readings(extraTest)]));
const build = async (options: RunOptions = {}, extraTest?: string) => {
  const summary = await runModels(db.knex, db.url, await models(extraTest), options);
  return summary.results.find((r) => r.model === 'core.readings')!;
};
const failed = (result: Awaited<ReturnType<typeof build>>) => result.tests.filter((t) => t.status === 'fail').map((t) => `${t.name}: ${t.failures}`);
const published = async () => (await db.knex.raw(`select count(*)::int as n, max(ts) as last from core.readings`)).rows[0];
/** A reading an hour after the previous newest: inside the next build's window. */
let hour = 0;
const add = async (values: { id?: number | null; kind?: string; value?: number; parent?: number; a?: number | null; b?: number | null } = {}) => {
  hour += 1;
  const row = { id: 1000 + hour, kind: 'x', value: 1, parent: 1, a: 1000 + hour, b: 1000 + hour, ...values };
  await db.knex.raw(`insert into src.readings values (?, ?, ?, ?, ?, ?, timestamptz '2025-01-01' + ? * interval '1 hour')`, [row.id, row.kind, row.value, row.parent, row.a, row.b, 100 + hour]);
};

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema src; create table src.parents (id int); insert into src.parents values (1), (2)`);
  await db.knex.raw(`create table src.readings (id int, kind text, value int, parent int, a int, b int, ts timestamptz)`);
  await db.knex.raw(`insert into src.readings select g, 'x', g, 1 + g % 2, g, g, timestamptz '2025-01-01' + g * interval '1 hour' from generate_series(1, 100) g`);
  expect((await build({ fullRefresh: true })).status).toBe('success');
});
afterAll(() => db.drop());

describe('a bad row in the increment fails the build and nothing is published', () => {
  // Each case leaves its bad source row out afterwards, so the next starts clean.
  let before: { n: number; last: Date };
  beforeEach(async () => {
    before = await published();
  });
  const rejects = async (expected: string[]) => {
    const result = await build();
    expect(result.status).toBe('error');
    expect(failed(result)).toEqual(expected);
    expect(await published()).toEqual(before);
    await db.knex.raw(`delete from src.readings where ts > ?`, [before.last]);
  };

  it('a null key', async () => {
    await add({ id: null });
    await rejects(['not_null(id): 1']);
  });
  it('a value outside the accepted ones, and one failing the expression', async () => {
    await add({ kind: 'z', value: -5 });
    await rejects(['accepted_values(kind): 1', 'expression(value: value >= 0): 1']);
  });
  it('a key that duplicates a row kept from earlier builds (outside the rebuilt window), with an index or without', async () => {
    await add({ id: 3 });
    await rejects(['unique(id): 1']);
    await add({ b: 4 });
    await rejects(['unique(b): 1']);
  });
  it('a combination that duplicates a kept one, nulls included', async () => {
    await add({ a: 5, b: 5 });
    await rejects(['unique(b): 1', 'unique_combination(a, b): 1']);
    await db.knex.raw(`update core.readings set a = null where id = 7`); // a kept (null, 7), then one added
    await add({ a: null, b: 7 });
    await rejects(['unique(b): 1', 'unique_combination(a, b): 1']);
    await db.knex.raw(`update core.readings set a = 7 where id = 7`);
    await add({ id: 5, b: 5 }); // (id, b): led by an indexed column, looked up through its index
    await rejects(['unique(id): 1', 'unique(b): 1', 'unique_combination(id, b): 1']);
  });
  it('a parent that does not exist', async () => {
    await add({ parent: 99 });
    await rejects(['relationships(parent -> core.parents.id): 1']);
  });
});

describe('locks', () => {
  // Autovacuum holds SHARE UPDATE EXCLUSIVE on a table it works on (after every build's delete); a build that
  // asks for a conflicting lock waits deadlock_timeout (1 s) until PostgreSQL cancels the vacuum.
  it('an incremental build whose declared indexes exist waits for no lock a vacuum holds', async () => {
    await add();
    const vacuum = await db.knex.transaction();
    try {
      await vacuum.raw('lock table core.readings in share update exclusive mode');
      let settled = false;
      const building = build().finally(() => (settled = true));
      let waited = false;
      while (!settled && !waited) {
        const { rows } = await db.knex.raw(`select count(*)::int as n from pg_locks where relation = 'core.readings'::regclass and not granted`);
        waited = rows[0].n > 0;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await vacuum.rollback(); // lets a blocked build go on, so the test ends either way
      expect(waited, 'the build waited for the lock the vacuum holds').toBe(false);
      expect((await building).action).toMatch(/^incremental/);
    } finally {
      if (!vacuum.isCompleted()) await vacuum.rollback();
    }
  });
});

describe('declared indexes', () => {
  const indexes = async () =>
    (await db.knex.raw(`select indexname, indexdef from pg_indexes where schemaname = 'core' and tablename = 'readings' order by 1`)).rows.map(
      (r: { indexname: string; indexdef: string }) => `${r.indexname}: ${r.indexdef.replace(/^.* USING btree /, '')}`,
    );
  const EXPECTED = ['readings__id: (id)', 'readings__positive: (ts) WHERE (value > 0)'];
  it('are built with the table, a partial one with its predicate, and re-created by an incremental build when missing', async () => {
    expect(await indexes()).toEqual(EXPECTED);
    await db.knex.raw('drop index core.readings__positive');
    await add();
    expect((await build()).action).toMatch(/^incremental/);
    expect(await indexes()).toEqual(EXPECTED);
  });
});

describe('rows kept from earlier builds', () => {
  it('are not judged again by an incremental build with the same declared tests, but are by seglayer test', async () => {
    // A bad kept row of every kind (put there by hand; a build would have refused each).
    await db.knex.raw(`update core.readings set value = -1, kind = 'z', parent = 99 where id = 10`);
    await db.knex.raw(`update core.readings set id = 11 where id = 12`);
    await add();
    const incremental = await build();
    expect(incremental.status, JSON.stringify(incremental.tests)).toBe('success');
    expect(incremental.action).toMatch(/^incremental: \d+ rows since/);
    // Where its time went, by step; the runner's bookkeeping is the rest.
    const phases = incremental.phases!;
    expect(Object.keys(phases)).toEqual(['query', 'write', 'tests', 'publish']);
    expect(Object.values(phases).every((s) => s >= 0)).toBe(true);
    expect(Object.values(phases).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(incremental.seconds);

    const tested = await build({ testsOnly: true });
    expect(failed(tested)).toEqual([
      'unique(id): 1',
      'accepted_values(kind): 1',
      'expression(value: value >= 0): 1',
      'relationships(parent -> core.parents.id): 1',
    ]);
  });

  it('are judged again once the declared tests change, until a build passes them', async () => {
    await add();
    const changed = await build({}, `, { expression: 'value < 1000000' }`);
    expect(changed.status).toBe('error');
    expect(failed(changed)).toContain('expression(value: value >= 0): 1');
    // --full-refresh rebuilds the table from the source, so the planted rows are gone.
    expect((await build({ fullRefresh: true }, `, { expression: 'value < 1000000' }`)).status).toBe('success');
    await add();
    expect((await build({}, `, { expression: 'value < 1000000' }`)).status).toBe('success');
  });

  it('a build whose tests failed does not make the next one trust the table', async () => {
    await db.knex.raw(`update core.readings set value = -1 where id = 20`);
    await add({ value: -2 });
    // The declared tests differ from the last successful run's: the whole table is judged, and fails.
    expect((await build()).status).toBe('error');
    await db.knex.raw(`delete from src.readings where value = -2`);
    await add();
    const again = await build();
    // The last successful run had other tests (the extra expression), so the whole table is judged again.
    expect(failed(again)).toEqual(['expression(value: value >= 0): 1']);
  });
});

describe('unique tests over the key an incremental build replaces', () => {
  // Incremental by k: the build deletes every published row whose k it adds, so a kept row cannot repeat an added
  // row's k, and unique tests over k (alone or with other columns) look for duplicates inside the increment only.
  // unique(tag) does not cover k: it still looks the added tags up in the whole table.
  const tallies: FixtureModel = {
    name: 'core.tallies',
    sql: '',
    source: `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.tallies', description: 'fixture', owner: 'tests', materialized: 'incremental',
  incremental: { uniqueKey: 'k' },
  indexes: [['k']],
  tests: [{ unique_combination: ['k', 'n'] }],
  columns: {
    k: { description: 'key', tests: ['unique'] },
    n: { description: 'n' },
    tag: { description: 'tag', tests: ['unique'] },
  },
  build: (knex, { incremental }) => knex.raw(\`select k, n, tag from src.tallies \${incremental ? 'where touched' : ''}\`),
});`,
  };
  const tallyModels = async () => discoverModels(PROJECT_ROOT, writeModels([tallies]));
  const buildTallies = async () => (await runModels(db.knex, db.url, await tallyModels(), {})).results.find((r) => r.model === 'core.tallies')!;
  const touch = async (rows: [string | null, number, string][]) => {
    await db.knex.raw(`update src.tallies set touched = false`);
    for (const [k, n, tag] of rows) await db.knex.raw(`insert into src.tallies values (?, ?, ?, true)`, [k, n, tag]);
  };
  const undo = async () => db.knex.raw(`delete from src.tallies where touched`);

  beforeAll(async () => {
    await db.knex.raw(`create table src.tallies (k text, n int, tag text, touched boolean)`);
    await db.knex.raw(`insert into src.tallies select 'k' || g, g, 't' || g, false from generate_series(1, 50) g`);
    expect((await buildTallies()).action).toBe('created');
  });

  it('replace a key without failing, and catch a key or combination repeated inside the increment', async () => {
    await db.knex.raw(`delete from src.tallies where k = 'k3'`);
    await touch([['k3', 300, 't300']]); // a replaced key: the kept row goes
    const replaced = await buildTallies();
    expect(replaced.status, JSON.stringify(replaced.tests)).toBe('success');
    expect((await db.knex.raw(`select n from core.tallies where k = 'k3'`)).rows).toEqual([{ n: 300 }]);

    await touch([['k60', 1, 't601'], ['k60', 1, 't602'], ['k61', 2, 't611'], ['k61', 3, 't612']]);
    const repeated = await buildTallies();
    expect(repeated.status).toBe('error');
    expect(failed(repeated)).toEqual(['unique(k): 2', 'unique_combination(k, n): 1']);
    expect((await db.knex.raw(`select count(*)::int as n from core.tallies where k in ('k60', 'k61')`)).rows[0].n).toBe(0);
    await undo();
  });

  it('still catch a repeated combination with a null, and a repeated column the key does not cover, against kept rows', async () => {
    await db.knex.raw(`insert into src.tallies values (null, 7, 'tnull', false)`);
    await db.knex.raw(`update src.tallies set touched = false`);
    await db.knex.raw(`insert into core.tallies values (null, 7, 'tnull')`); // kept, as a full build would have published it
    await touch([[null, 7, 'tnull2']]); // a null key is matched by no delete: the kept (null, 7) stays
    const nullKey = await buildTallies();
    expect(failed(nullKey)).toEqual(['unique_combination(k, n): 1']);
    await undo();
    await touch([['k70', 70, 't5']]); // t5 is a kept row's tag
    const keptTag = await buildTallies();
    expect(failed(keptTag)).toEqual(['unique(tag): 1']);
    await undo();
  });

  it('read only the increment when they cover the replaced key', async () => {
    const { compileTests } = await import('../../src/models/column-tests.ts');
    const model = (await tallyModels()).find((m) => m.name === 'core.tallies')!;
    const reads = (replacedBy?: string[]) => Object.fromEntries(compileTests(db.knex, model, '"core"."tallies"', 'increment', replacedBy)
      .filter((t) => t.query).map((t) => [t.name, t.query!.toQuery().includes('"core"."tallies"')]));
    expect(reads(['k'])).toEqual({ 'unique(k)': false, 'unique(tag)': true, 'unique_combination(k, n)': true });
    expect(reads(undefined)).toEqual({ 'unique(k)': true, 'unique(tag)': true, 'unique_combination(k, n)': true });
  });
});
