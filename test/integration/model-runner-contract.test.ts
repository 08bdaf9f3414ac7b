/**
 * Declared columns are a contract: a model whose built relation has other
 * column names or types than it declares fails before the swap, naming both
 * sides, and the published version stays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { writeModels, type FixtureModel } from '../support/fixture-models.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const run = async (models: FixtureModel[], options: Parameters<typeof runModels>[3] = {}) =>
  runModels(db.knex, db.url, await discoverModels(PROJECT_ROOT, writeModels(models)), options);
const columns = { id: { type: 'int4', tests: ['unique'] }, amount: { type: 'numeric' }, ts: { type: 'timestamptz' } };
const good = (materialized: FixtureModel['materialized'], name = 'core.orders'): FixtureModel => ({
  name,
  materialized,
  sql: `select g as id, (g * 1.5)::numeric(10,2) as amount, timestamptz '2025-01-01' + g * interval '1 day' as ts from generate_series(1, 10) g`,
  columns,
});
const published = async (name: string) =>
  (await db.knex.raw(`select count(*)::int as n, min(amount)::text as lo from ${name}`)).rows[0];
const leftovers = async () => (await db.knex.raw(`select count(*)::int as n from pg_class where relname like '\\_\\_seglayer%'`)).rows[0].n;

describe.each(['table', 'view'] as const)('a %s', (materialized) => {
  const name = `core.orders_${materialized}`;
  it('builds when the columns match (aliases and modifiers normalized)', async () => {
    const summary = await run([good(materialized, name)]);
    expect(summary.ok, JSON.stringify(summary.results)).toBe(true);
    expect(await published(name)).toEqual({ n: 10, lo: '1.50' });
  });

  it('a renamed column fails naming the declared and the built column; the previous version stays', async () => {
    const renamed = { ...good(materialized, name), sql: good(materialized).sql.replace('as amount', 'as total') };
    const summary = await run([renamed]);
    expect(summary.ok).toBe(false);
    const error = summary.results[0]!.error!;
    expect(error).toMatch(/declared column "amount" is not built \(built but not declared: "total" numeric\(10,2\)\)/);
    expect(error).toMatch(/built column "total" \(numeric\(10,2\)\) is not declared \(declared but not built: "amount"\)/);
    expect(error).toMatch(/the previous version stays published$/);
    expect(await published(name)).toEqual({ n: 10, lo: '1.50' });
    expect(await leftovers()).toBe(0);
  });

  it('a changed type fails naming both types; the previous version stays', async () => {
    const retyped = { ...good(materialized, name), sql: good(materialized).sql.replace('::numeric(10,2)', '::text') };
    const summary = await run([retyped]);
    expect(summary.ok).toBe(false);
    expect(summary.results[0]!.error).toMatch(/column "amount" is declared numeric but built as text/);
    expect(await published(name)).toEqual({ n: 10, lo: '1.50' });
  });
});

describe('an incremental model', () => {
  const incremental = (sql?: string): FixtureModel => ({
    ...good('incremental', 'core.orders_log'),
    ...(sql ? { sql } : {}),
    incremental: { windowColumn: 'ts', lookback: '2 days' },
  });
  it('checks the rebuilt window against the declaration before deleting anything', async () => {
    expect((await run([incremental()])).ok).toBe(true);
    const summary = await run([incremental(good('table').sql.replace('g as id', 'g::bigint as id'))]);
    expect(summary.results[0]!.error).toMatch(/column "id" is declared int4 but built as bigint/);
    expect(await published('core.orders_log')).toEqual({ n: 10, lo: '1.50' });
  });
});

it('`seglayer test` checks the published relation against the declaration', async () => {
  expect((await run([good('table', 'core.orders_checked')])).ok).toBe(true);
  await db.knex.raw('alter table core.orders_checked rename column ts to created_at');
  const summary = await run([good('table', 'core.orders_checked')], { testsOnly: true });
  expect(summary.results[0]!.error).toMatch(/declared column "ts" is not built \(built but not declared: "created_at" timestamp with time zone\)/);
});
