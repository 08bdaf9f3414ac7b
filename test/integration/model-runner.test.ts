/**
 * The model runner on real PostgreSQL with fixture models: publish, keep the old
 * version on failure, skip downstream, keep dependent views and grants, lock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildLockedError, acquireBuildLock } from '../../src/models/build-lock.ts';
import { discoverModels, ModelDefinitionError } from '../../src/models/model-discovery.ts';
import { ModelGraphError } from '../../src/models/model-graph.ts';
import { ModelCompileError } from '../../src/models/model-compiler.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { writeModels, type FixtureModel } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema src; create table src.numbers (n int, ts timestamptz)`);
  await db.knex.raw(`insert into src.numbers select g, timestamptz '2025-01-01' + g * interval '1 hour' from generate_series(1, 100) g`);
});
afterAll(() => db.drop());

const base: FixtureModel[] = [
  { name: 'staging.stg_numbers', sql: 'select n as id, ts from src.numbers', columns: { id: { tests: ['not_null', 'unique'] }, ts: {} } },
  { name: 'core.evens', sql: 'select id, ts from {{staging.stg_numbers}} where id % 2 = 0', columns: { id: { tests: ['unique'] }, ts: {} }, tags: ['math'] },
  { name: 'marts.even_count', sql: 'select count(*) as id from {{core.evens}}', columns: { id: { tests: ['not_null'] } } },
];
const run = async (models: FixtureModel[], options: Parameters<typeof runModels>[3] = {}) =>
  runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, writeModels(models)), options);

describe('building', () => {
  it('builds in dependency order and records runs and tests', async () => {
    const summary = await run(base);
    expect(summary.ok).toBe(true);
    expect(summary.results.map((r) => [r.model, r.status, r.rows])).toEqual([
      ['staging.stg_numbers', 'success', null],
      ['core.evens', 'success', 50],
      ['marts.even_count', 'success', 1],
    ]);
    expect((await db.knex.raw('select id from marts.even_count')).rows).toEqual([{ id: 50 }]);
    const runs = await db.knex('ops.model_runs').where({ run_id: summary.runId }).count({ n: '*' }).first();
    expect(runs).toEqual({ n: 3 });
    const tests = await db.knex('ops.test_results').where({ run_id: summary.runId }).orderBy('test').pluck('test');
    expect(tests).toEqual(['not_null(id)', 'not_null(id)', 'unique(id)', 'unique(id)']);
  });

  it('a failing test keeps the previous table and skips everything downstream', async () => {
    const broken = base.map((m) => (m.name === 'core.evens' ? { ...m, sql: 'select 1 as id, now() as ts union all select 1, now()' } : m));
    const summary = await run(broken);
    expect(summary.ok).toBe(false);
    const byName = Object.fromEntries(summary.results.map((r) => [r.model, r]));
    expect(byName['core.evens']!.status).toBe('error');
    expect(byName['core.evens']!.error).toMatch(/core\/evens\.ts: 1 test\(s\) failed: unique\(id\) \(1 rows\); the previous version stays published/);
    expect(byName['marts.even_count']).toMatchObject({ status: 'skipped', error: 'upstream core.evens did not build' });
    expect((await db.knex.raw('select count(*)::int as n from core.evens')).rows[0].n).toBe(50);
    expect((await db.knex.raw(`select count(*)::int as n from pg_class where relname like '\\_\\_seglayer%'`)).rows[0].n).toBe(0);
  });

  it('a SQL error names the model and keeps the old version', async () => {
    const broken = base.map((m) => (m.name === 'core.evens' ? { ...m, sql: 'selec id from {{staging.stg_numbers}}' } : m));
    const summary = await run(broken);
    const evens = summary.results.find((r) => r.model === 'core.evens')!;
    expect(evens.error).toMatch(/core\/evens\.ts: syntax error at or near "\w+"$/);
    expect((await db.knex.raw('select count(*)::int as n from core.evens')).rows[0].n).toBe(50);
  });

  it('re-points views that read a swapped table and keeps its grants', async () => {
    await db.knex.raw(`create view public.evens_report as select count(*) as n from core.evens`);
    await db.knex.raw(`do $$ begin if not exists (select from pg_roles where rolname = 'analyst') then create role analyst; end if; end $$`);
    await db.knex.raw(`grant select on core.evens to analyst`);
    const fewer = base.map((m) => (m.name === 'core.evens' ? { ...m, sql: 'select id, ts from {{staging.stg_numbers}} where id % 4 = 0' } : m));
    expect((await run(fewer, { select: ['core.evens'] })).ok).toBe(true);
    expect((await db.knex.raw('select n::int from public.evens_report')).rows).toEqual([{ n: 25 }]);
    expect((await db.knex.raw(`select has_table_privilege('analyst', 'core.evens', 'select') as ok`)).rows[0].ok).toBe(true);
  });
});

describe('selection', () => {
  it('+name, name+, tag: and --exclude', async () => {
    const models = await discoverModels(PROJECT_ROOT, writeModels(base));
    const { buildGraph } = await import('../../src/models/model-runner.ts');
    const graph = buildGraph(models);
    expect(graph.select(['+core.evens'])).toEqual(['staging.stg_numbers', 'core.evens']);
    expect(graph.select(['evens+'])).toEqual(['core.evens', 'marts.even_count']);
    expect(graph.select(['tag:math'])).toEqual(['core.evens']);
    expect(graph.select(['layer:marts'])).toEqual(['marts.even_count']);
    expect(graph.select([], ['staging.stg_numbers'])).toEqual(['core.evens', 'marts.even_count']);
    expect(() => graph.select(['nope'])).toThrow('no model matches "nope"');
  });

  it('an incremental model comes after what its staleKeys read, not only its full query', async () => {
    const keyed: FixtureModel = {
      name: 'marts.keyed',
      sql: '',
      source: `import { defineModel } from '${PROJECT_ROOT}/src/models/model-definition.ts';
export default defineModel({
  name: 'marts.keyed', description: 'fixture', owner: 'tests', materialized: 'incremental', incremental: { uniqueKey: 'id' },
  columns: { id: { description: 'id' } },
  staleKeys: (knex, { ref }) => knex.raw(\`select id from \${ref('core.evens')}\`),
  build: (knex, { ref }) => knex.raw(\`select id from \${ref('staging.stg_numbers')}\`),
});`,
    };
    const models = await discoverModels(PROJECT_ROOT, writeModels([...base, keyed]));
    const { buildGraph } = await import('../../src/models/model-runner.ts');
    expect(buildGraph(models).select(['+marts.keyed'])).toEqual(['staging.stg_numbers', 'core.evens', 'marts.keyed']);
  });
});

describe('scheduling', () => {
  it('starts the model heading the longest chain first, by the seconds its last build took', async () => {
    // Given order (by name): a_leaf, b_leaf, c_head → z_tail. Their last builds say the chain is the long one.
    const models: FixtureModel[] = [
      { name: 'staging.a_leaf', sql: 'select 1 as id', columns: { id: {} } },
      { name: 'staging.b_leaf', sql: 'select 2 as id', columns: { id: {} } },
      { name: 'staging.c_head', sql: 'select 3 as id', columns: { id: {} } },
      { name: 'staging.z_tail', sql: 'select id from {{staging.c_head}}', columns: { id: {} } },
    ];
    const first = await run(models, { threads: 1 });
    expect(first.ok).toBe(true);
    const startOrder = async (runId: string) =>
      (await db.knex('ops.model_runs').where({ run_id: runId }).orderBy('model_run_id').pluck('model')) as string[];
    expect(await startOrder(first.runId)).toEqual(['staging.a_leaf', 'staging.b_leaf', 'staging.c_head', 'staging.z_tail']);
    // As if the chain had taken 5 s and the leaves 1 s each.
    const took = { 'staging.a_leaf': 1, 'staging.b_leaf': 1, 'staging.c_head': 1, 'staging.z_tail': 5 };
    for (const [model, seconds] of Object.entries(took)) {
      await db.knex.raw(`update ops.model_runs set finished_at = started_at + ? * interval '1 second' where run_id = ? and model = ?`, [seconds, first.runId, model]);
    }
    const second = await run(models, { threads: 1 });
    expect(await startOrder(second.runId)).toEqual(['staging.c_head', 'staging.z_tail', 'staging.a_leaf', 'staging.b_leaf']);
  });
});

describe('definitions that cannot run', () => {
  it('a cycle is refused with its path', async () => {
    const cyclic = [
      { name: 'core.a', sql: 'select * from {{core.b}}' },
      { name: 'core.b', sql: 'select * from {{core.a}}' },
    ];
    await expect(run(cyclic)).rejects.toThrow(ModelGraphError);
    await expect(run(cyclic)).rejects.toThrow('models form a cycle: core.a -> core.b -> core.a');
  });

  it('a missing ref names the model and the ref', async () => {
    await expect(run([{ name: 'core.a', sql: 'select * from {{core.ghost}}' }])).rejects.toThrow(ModelCompileError);
    await expect(run([{ name: 'core.a', sql: 'select * from {{core.ghost}}' }])).rejects.toThrow(/core\/a\.ts: core\.a refers to "core\.ghost", which is no model/);
  });

  it('invalid definitions are all reported with file and field, and nothing runs', async () => {
    const dir = writeModels([
      { name: 'core.a', sql: '', source: `export default { name: 'core.a', owner: 'x', columns: {}, build: 1 };` },
      { name: 'core.b', sql: 'select 1 as id' },
      { name: 'core.c', sql: '', source: `export default {` },
    ]);
    const attempt = discoverModels(PROJECT_ROOT, dir);
    await expect(attempt).rejects.toThrow(ModelDefinitionError);
    const message = await attempt.catch((e: Error) => e.message);
    expect(message).toMatch(/core\/a\.ts description: /);
    expect(message).toMatch(/core\/a\.ts columns: at least one column/);
    expect(message).toMatch(/core\/a\.ts build: a function/);
    // The compiler's line and column, where the importer reports them (tsx does; see one-line-errors.test.ts).
    expect(message).toMatch(/core\/c\.ts(:\d+:\d+)?: cannot be loaded/);
    expect(message).not.toMatch(/core\/b\.ts/);
  });
});

describe('incremental models', () => {
  const incremental: FixtureModel = {
    name: 'core.numbers_log', materialized: 'incremental', incremental: { windowColumn: 'ts', lookback: '5 hours' },
    sql: 'select n as id, ts, now() as built_at from src.numbers', columns: { id: { tests: ['unique', 'not_null'] }, ts: {}, built_at: {} },
  };
  it('rebuilds only the lookback window, and re-running is idempotent', async () => {
    await run([incremental], { fullRefresh: true });
    await db.knex.raw(`insert into src.numbers values (101, timestamptz '2025-01-01' + 101 * interval '1 hour')`);
    const summary = await run([incremental]);
    // newest row before this build: hour 100 (2025-01-05T04:00); minus 5 hours of lookback
    expect(summary.results[0]!.action).toBe('incremental: 7 rows since 2025-01-04T23:00:00.000Z');
    const { rows } = await db.knex.raw(`select count(*)::int as n, count(*) filter (where built_at = (select min(built_at) from core.numbers_log))::int as untouched from core.numbers_log`);
    expect(rows[0]).toEqual({ n: 101, untouched: 94 });
    await run([incremental]);
    expect((await db.knex.raw('select count(*)::int as n, count(distinct id)::int as d from core.numbers_log')).rows[0]).toEqual({ n: 101, d: 101 });
  });
});

describe('the build lock', () => {
  it('a second build exits at once with a clear message; --wait queues', async () => {
    const held = await acquireBuildLock(db.url);
    await expect(run(base)).rejects.toThrow(BuildLockedError);
    await expect(run(base)).rejects.toThrow(/another build is running on this warehouse .*rerun with --wait/);
    const waiting = run(base, { wait: true });
    await new Promise((r) => setTimeout(r, 300));
    await held.release();
    expect((await waiting).ok).toBe(true);
  });
});

describe('append models (history)', () => {
  const DEFINE = `${PROJECT_ROOT}/src/models/model-definition.ts`;
  const appendModel = (test: string): FixtureModel => ({
    name: 'core.seen_numbers',
    sql: '',
    source: `import { defineModel } from '${DEFINE}';
export default defineModel({
  name: 'core.seen_numbers', description: 'fixture', owner: 'tests', materialized: 'append',
  columns: { id: { description: 'id', tests: [${test}] }, seen_at: { description: 'when' } },
  build: (knex, { appendTo }) => knex.raw(appendTo
    ? \`select n as id, now() as seen_at from src.numbers where n > (select coalesce(max(id), 0) from \${appendTo.toQuery()})\`
    : 'select n as id, now() as seen_at from src.numbers'),
});`,
  });
  const count = async () => (await db.knex.raw('select count(*)::int as n, count(distinct seen_at)::int as builds from core.seen_numbers')).rows[0];

  it('the first build creates the table; later builds add only what the query returns', async () => {
    const total = (await db.knex.raw('select count(*)::int as n from src.numbers')).rows[0].n;
    expect((await run([appendModel("'unique'")])).ok).toBe(true);
    expect(await count()).toEqual({ n: total, builds: 1 });
    await db.knex.raw(`insert into src.numbers select g, now() from generate_series(${total + 1}, ${total + 5}) g`);
    const second = await run([appendModel("'unique'")]);
    expect(second.results[0]!.action).toBe('appended 5 rows');
    expect(await count()).toEqual({ n: total + 5, builds: 2 });
  });

  it('--full-refresh keeps the history', async () => {
    const before = await count();
    expect((await run([appendModel("'unique'")], { fullRefresh: true })).ok).toBe(true);
    expect(await count()).toEqual(before);
  });

  it('a failing test appends nothing', async () => {
    const before = await count();
    await db.knex.raw(`insert into src.numbers select max(n) + 1, now() from src.numbers`);
    const failing = await run([appendModel("{ expression: 'id < 0' }")]);
    expect(failing.ok).toBe(false);
    expect(await count()).toEqual(before);
  });
});
