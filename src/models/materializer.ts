/**
 * Publishes a model atomically. The new version is built beside the old one
 * (`<schema>.__seglayer_tmp_<name>`), tested there, and only then swapped in
 * with one transaction; a failure at any step leaves the previous version in
 * place. Views that read a swapped table are re-pointed and its grants copied
 * inside the same transaction, so consumers keep working.
 *
 * Incremental models delete and re-insert the rebuilt window in one
 * transaction and are tested before it commits.
 */
import type { Knex } from 'knex';
import { compileTests, runTests, type TestOutcome } from './column-tests.ts';
import type { Model } from './model-discovery.ts';
import { quoteRelation } from './model-compiler.ts';

export const TEMP_PREFIX = '__seglayer_tmp_';
export const OLD_PREFIX = '__seglayer_old_';

export type { TestOutcome };

export interface Materialized {
  rows: number | null;
  tests: TestOutcome[];
  /** What was done: created, replaced, incremental (n rows in window), ... */
  action: string;
}

/** e.g. `1 test(s) failed: unique(id) (1 rows)`. */
export function failedTestsSummary(tests: TestOutcome[]): string {
  const failed = tests.filter((t) => t.status === 'fail');
  return `${failed.length} test(s) failed: ${failed.map((t) => `${t.name} (${t.failures} rows)`).join(', ')}`;
}

export class ModelTestFailure extends Error {
  override name = 'ModelTestFailure';
  constructor(
    readonly model: string,
    readonly tests: TestOutcome[],
  ) {
    super(`${failedTestsSummary(tests)}; the previous version stays published`);
  }
}

const split = (name: string) => name.split('.') as [string, string];
const relation = (schema: string, table: string) => quoteRelation(`${schema}.${table}`);

async function relationKind(db: Knex | Knex.Transaction, name: string): Promise<'table' | 'view' | undefined> {
  const [schema, table] = split(name);
  const { rows } = await db.raw(
    `select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = ?`,
    [schema, table],
  );
  const kind = rows[0]?.relkind;
  return kind === 'r' || kind === 'p' ? 'table' : kind === 'v' || kind === 'm' ? 'view' : undefined;
}

export async function relationExists(db: Knex, name: string): Promise<boolean> {
  return (await relationKind(db, name)) !== undefined;
}

/** Drops temporary relations a killed build left behind in the given schemas. */
export async function dropLeftovers(db: Knex, schemas: string[]): Promise<string[]> {
  const { rows } = await db.raw(
    `select n.nspname as schema, c.relname as name, c.relkind as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(?) and c.relkind in ('r', 'v') and (c.relname like ? or c.relname like ?)`,
    [schemas, `${TEMP_PREFIX.replace(/_/g, '\\_')}%`, `${OLD_PREFIX.replace(/_/g, '\\_')}%`],
  );
  const dropped: string[] = [];
  for (const row of rows as { schema: string; name: string; kind: string }[]) {
    await db.raw(`drop ${row.kind === 'v' ? 'view' : 'table'} if exists ${relation(row.schema, row.name)} cascade`);
    dropped.push(`${row.schema}.${row.name}`);
  }
  return dropped;
}

/** Views that read `name` directly, with definitions printed fully qualified. */
async function dependentViews(trx: Knex.Transaction, name: string): Promise<{ name: string; definition: string }[]> {
  const [schema, table] = split(name);
  await trx.raw(`set local search_path = ''`);
  const { rows } = await trx.raw(
    `select distinct vn.nspname || '.' || v.relname as name, pg_get_viewdef(v.oid) as definition, v.oid
     from pg_depend d
     join pg_rewrite r on r.oid = d.objid
     join pg_class v on v.oid = r.ev_class and v.relkind = 'v'
     join pg_namespace vn on vn.oid = v.relnamespace
     join pg_class t on t.oid = d.refobjid
     join pg_namespace tn on tn.oid = t.relnamespace
     where d.classid = 'pg_rewrite'::regclass and tn.nspname = ? and t.relname = ? and v.oid <> t.oid
     order by v.oid`,
    [schema, table],
  );
  return rows;
}

/** GRANT statements that recreate the privileges of `name` on `target`. */
async function grantsOf(trx: Knex.Transaction, name: string, target: string): Promise<string[]> {
  const [schema, table] = split(name);
  const { rows } = await trx.raw(
    `select a.privilege_type as privilege, case when a.grantee = 0 then 'public' else quote_ident(r.rolname) end as grantee
     from pg_class c join pg_namespace n on n.oid = c.relnamespace,
          lateral aclexplode(c.relacl) a left join pg_roles r on r.oid = a.grantee
     where n.nspname = ? and c.relname = ? and a.grantee <> c.relowner`,
    [schema, table],
  );
  return (rows as { privilege: string; grantee: string }[]).map((r) => `grant ${r.privilege} on ${target} to ${r.grantee}`);
}

/**
 * `create schema if not exists` is not safe against itself: two models of a new
 * schema materialized concurrently (e.g. segments.rfm_scores and
 * segments.cluster_assignments on a first build) can both pass the existence check
 * and one then fails on pg_namespace's unique index. Losing that race means the
 * schema exists, which is all we need.
 */
async function ensureSchema(db: Knex, schema: string): Promise<void> {
  try {
    await db.raw(`create schema if not exists ${quoteRelation(schema)}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') throw error; // unique_violation, duplicate_schema
  }
}

/**
 * `onPublish` runs inside the transaction that publishes the model's rows (the
 * incremental delete+insert, the swap, the append), e.g. to record the load
 * batches the new version took in: it commits if and only if the rows do.
 */
export async function materialize(
  db: Knex,
  model: Model,
  sql: string,
  quarantineSql: string | undefined,
  incrementalSince: Date | undefined,
  appendToExisting = false,
  onPublish: (trx: Knex.Transaction) => Promise<void> = async () => {},
): Promise<Materialized> {
  const [schema, table] = split(model.name);
  const target = relation(schema, table);
  const temp = relation(schema, TEMP_PREFIX + table);
  await ensureSchema(db, schema);

  const publishQuarantine = async (trx: Knex.Transaction) => {
    if (!quarantineSql) return;
    const source = `model:${model.name}`;
    await trx.raw(`delete from ops.quarantine where source = ?`, [source]);
    await trx.raw(
      `insert into ops.quarantine (source, batch_id, target_table, row_number, raw_payload, reason, field)
       select ?, q.batch_id, ?, q.row_number, q.raw_payload, q.reason, q.field from (${quarantineSql}) q`,
      [source, model.name],
    );
  };

  if (model.materialized === 'incremental' && incrementalSince) {
    const column = model.incremental!.windowColumn;
    return db.transaction(async (trx) => {
      await trx.raw(`create temporary table __seglayer_delta on commit drop as ${sql}`);
      await trx.raw(`delete from ${target} where ?? >= ?`, [column, incrementalSince]);
      const inserted = await trx.raw(`insert into ${target} select * from __seglayer_delta`);
      const tests = await runTests(trx, target, compileTests(trx, model, target));
      if (tests.some((t) => t.status === 'fail')) throw new ModelTestFailure(model.name, tests);
      await publishQuarantine(trx);
      await onPublish(trx);
      const { rows } = await trx.raw(`select count(*)::bigint as n from ${target}`);
      return { rows: Number(rows[0].n), tests, action: `incremental: ${inserted.rowCount} rows since ${incrementalSince.toISOString()}` };
    });
  }

  if (model.materialized === 'append' && appendToExisting) {
    return db.transaction(async (trx) => {
      const inserted = await trx.raw(`insert into ${target} ${sql}`);
      const tests = await runTests(trx, target, compileTests(trx, model, target));
      if (tests.some((t) => t.status === 'fail')) throw new ModelTestFailure(model.name, tests);
      await publishQuarantine(trx);
      await onPublish(trx);
      const { rows } = await trx.raw(`select count(*)::bigint as n from ${target}`);
      return { rows: Number(rows[0].n), tests, action: `appended ${inserted.rowCount} rows` };
    });
  }

  if (model.materialized === 'view') {
    await db.raw(`drop view if exists ${temp}`);
    await db.raw(`create view ${temp} as ${sql}`);
    try {
      const tests = await runTests(db, temp, compileTests(db, model, temp));
      if (tests.some((t) => t.status === 'fail')) throw new ModelTestFailure(model.name, tests);
      const existing = await relationKind(db, model.name);
      await db.transaction(async (trx) => {
        if (existing === 'table') throw new Error(`${model.name} exists as a table; drop it or materialize the model as a table`);
        try {
          await trx.raw('savepoint replace_view');
          await trx.raw(`create or replace view ${target} as ${sql}`);
        } catch (error) {
          // Columns removed or renamed: replace only when nothing depends on the view.
          if ((error as { code?: string }).code !== '42P16') throw error;
          await trx.raw('rollback to savepoint replace_view');
          await trx.raw(`drop view ${target}`);
          await trx.raw(`create view ${target} as ${sql}`);
        }
        await publishQuarantine(trx);
        await onPublish(trx);
      });
      return { rows: null, tests, action: existing ? 'replaced' : 'created' };
    } finally {
      await db.raw(`drop view if exists ${temp}`);
    }
  }

  // table, incremental on its first build / --full-refresh, append on its first build
  await db.raw(`drop table if exists ${temp} cascade`);
  const created = await db.raw(`create table ${temp} as ${sql}`);
  try {
    const tests = await runTests(db, temp, compileTests(db, model, temp));
    if (tests.some((t) => t.status === 'fail')) throw new ModelTestFailure(model.name, tests);
    const existing = await relationKind(db, model.name);
    await db.transaction(async (trx) => {
      if (existing === 'view') await trx.raw(`drop view ${target}`);
      if (existing === 'table') {
        const views = await dependentViews(trx, model.name);
        const grants = await grantsOf(trx, model.name, target);
        await trx.raw(`set local search_path = ''`);
        const old = relation(schema, OLD_PREFIX + table);
        await trx.raw(`alter table ${target} rename to ${quoteRelation(OLD_PREFIX + table)}`);
        await trx.raw(`alter table ${temp} rename to ${quoteRelation(table)}`);
        for (const view of views) {
          await trx.raw(`create or replace view ${quoteRelation(view.name)} as ${view.definition.replace(/;\s*$/, '')}`).catch((error: Error) => {
            throw new Error(`dependent view ${view.name} no longer fits the new ${model.name}: ${error.message}`);
          });
        }
        for (const grant of grants) await trx.raw(grant);
        await trx.raw(`drop table ${old}`);
      } else {
        await trx.raw(`alter table ${temp} rename to ${quoteRelation(table)}`);
      }
      await publishQuarantine(trx);
      await onPublish(trx);
    });
    return { rows: Number(created.rowCount), tests, action: existing === 'table' ? 'swapped' : 'created' };
  } finally {
    await db.raw(`drop table if exists ${temp} cascade`);
  }
}
