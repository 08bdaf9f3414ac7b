/**
 * What every materialization shares: check a built relation (declared
 * columns, then data tests) before anything is published, publish the
 * quarantine and the caller's bookkeeping in the publishing transaction, swap
 * a table built beside the published one, and add a delta to a published table.
 */
import type { Knex } from 'knex';
import { enforceContract } from '../column-contract.ts';
import { compileTests, runTests, runTestsInOneScan } from '../column-tests.ts';
import { quoteRelation } from '../model-compiler.ts';
import { quarantineSource } from '../model-definition.ts';
import type { Model } from '../model-discovery.ts';
import { ModelTestFailure, PhaseTimer, type MaterializeRequest, type Materialized, type TestOutcome } from './materialization.ts';
import { OLD_PREFIX, relationsOf, splitName } from './relations.ts';

/**
 * The built relation must have the declared columns and pass the model's
 * tests; otherwise this throws and nothing is published. `columnsOf` is where
 * the new rows' columns are read when it is not `relation` itself (a delta).
 */
export async function verify(db: Knex | Knex.Transaction, model: Model, relation: string, columnsOf = relation): Promise<TestOutcome[]> {
  await enforceContract(db, model, columnsOf);
  // A view's tests share one run of its query; a table's read it once per test.
  const tests = model.materialized === 'view'
    ? await runTestsInOneScan(db, model, relation)
    : await runTests(db, relation, compileTests(db, model, relation));
  if (tests.some((t) => t.status === 'fail')) throw new ModelTestFailure(model.name, tests);
  return tests;
}

/** The rows a published table holds, as recorded when it was published (ops.model_row_counts); undefined if never. */
async function recordedRows(trx: Knex.Transaction, model: string): Promise<number | undefined> {
  const { rows } = await trx.raw(`select rows from ops.model_row_counts where model = ?`, [model]);
  return rows[0] ? Number(rows[0].rows) : undefined;
}

/**
 * The model's quarantine rows, the caller's onPublish, and the published table's row
 * count (unset: a view, whose count is forgotten), in the publishing transaction.
 */
export async function publishExtras(trx: Knex.Transaction, request: MaterializeRequest, rows?: number): Promise<void> {
  const { model, quarantineSql, quarantineReplacesSql } = request;
  if (rows === undefined) await trx.raw(`delete from ops.model_row_counts where model = ?`, [model.name]);
  else await trx.raw(`insert into ops.model_row_counts (model, rows) values (?, ?) on conflict (model) do update set rows = excluded.rows`, [model.name, rows]);
  if (quarantineSql) {
    const source = quarantineSource(model.name);
    if (quarantineReplacesSql) {
      await trx.raw(
        `delete from ops.quarantine q where q.source = ? and (q.batch_id, q.row_number) in (select r.batch_id, r.row_number from (${quarantineReplacesSql}) r)`,
        [source],
      );
    } else await trx.raw(`delete from ops.quarantine where source = ?`, [source]);
    await trx.raw(
      `insert into ops.quarantine (source, batch_id, target_table, row_number, raw_payload, reason, field)
       select ?, q.batch_id, ?, q.row_number, q.raw_payload, q.reason, q.field from (${quarantineSql}) q`,
      [source, model.name],
    );
  }
  await request.onPublish?.(trx);
}

/** Views that read `name` directly, with definitions printed fully qualified. */
async function dependentViews(trx: Knex.Transaction, name: string): Promise<{ name: string; definition: string; options: string[] | null }[]> {
  const [schema, table] = splitName(name);
  await trx.raw(`set local search_path = ''`);
  const { rows } = await trx.raw(
    `select distinct vn.nspname || '.' || v.relname as name, pg_get_viewdef(v.oid) as definition, v.reloptions as options, v.oid
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
  const [schema, table] = splitName(name);
  const { rows } = await trx.raw(
    `select a.privilege_type as privilege, case when a.grantee = 0 then 'public' else quote_ident(r.rolname) end as grantee
     from pg_class c join pg_namespace n on n.oid = c.relnamespace,
          lateral aclexplode(c.relacl) a left join pg_roles r on r.oid = a.grantee
     where n.nspname = ? and c.relname = ? and a.grantee <> c.relowner`,
    [schema, table],
  );
  return (rows as { privilege: string; grantee: string }[]).map((r) => `grant ${r.privilege} on ${target} to ${r.grantee}`);
}

/** ` with (key = 'value', ...)` for a view's reloptions (as the catalog prints them), or ''. */
function viewOptions(options: string[] | null): string {
  if (!options?.length) return '';
  const pairs = options.map((option) => {
    const [key, ...value] = option.split('=');
    if (!/^[a-z_]+$/.test(key!)) throw new Error(`unexpected view option ${option}`);
    return `${key} = '${value.join('=').replace(/'/g, "''")}'`;
  });
  return ` with (${pairs.join(', ')})`;
}

/**
 * Puts the temporary table in the published one's place. Views reading the
 * old table hold its OID, so they are re-created on the new one, its grants
 * are copied, and the old table is dropped without CASCADE: a consumer that no
 * longer fits aborts the swap instead of being dropped.
 */
export async function swapIn(trx: Knex.Transaction, modelName: string, existing: 'table' | 'view' | undefined): Promise<void> {
  const { table, target, temp, old } = relationsOf(modelName);
  if (existing === 'view') await trx.raw(`drop view ${target}`);
  if (existing !== 'table') {
    await trx.raw(`alter table ${temp} rename to ${quoteRelation(table)}`);
    return;
  }
  const views = await dependentViews(trx, modelName);
  const grants = await grantsOf(trx, modelName, target);
  await trx.raw(`set local search_path = ''`);
  await trx.raw(`alter table ${target} rename to ${quoteRelation(OLD_PREFIX + table)}`);
  await trx.raw(`alter table ${temp} rename to ${quoteRelation(table)}`);
  for (const view of views) {
    // Options such as security_barrier (the bi views) are kept: CREATE OR REPLACE resets them.
    await trx.raw(`create or replace view ${quoteRelation(view.name)}${viewOptions(view.options)} as ${view.definition.replace(/;\s*$/, '')}`).catch((error: Error) => {
      throw new Error(`dependent view ${view.name} no longer fits the new ${modelName}: ${error.message}`);
    });
  }
  for (const grant of grants) await trx.raw(grant);
  await trx.raw(`drop table ${old}`);
}

/**
 * Adds the query's rows to the published table in one transaction, after
 * `prepare` (e.g. deleting the window being rebuilt), and after `stage` (tables the query reads, made in the
 * same transaction): the rows are staged in a
 * temporary table, checked against the declared columns, inserted by column
 * name, and the table is tested before the transaction commits: wholly, or only the
 * added rows when `testIncrementOnly` (see column-tests.ts).
 */
export async function insertDelta(
  request: MaterializeRequest,
  prepare: (trx: Knex.Transaction) => Promise<number>,
  describe: (inserted: number) => string,
  options: {
    /** Tables the query reads, made in the same transaction before it. */
    stage?: (trx: Knex.Transaction) => Promise<void>;
    /** Columns by which `prepare` deleted every published row sharing their values with a new row (compileTests). */
    replacedBy?: string[];
  } = {},
): Promise<Materialized> {
  const { stage, replacedBy } = options;
  const { db, model, sql } = request;
  const { target } = relationsOf(model.name);
  const timer = new PhaseTimer();
  const started = performance.now();
  const done = await db.transaction(async (trx) => {
    if (stage) await timer.time('query', () => stage(trx));
    await timer.time('query', () => trx.raw(`create temporary table __seglayer_delta on commit drop as ${sql}`));
    await timer.time('tests', () => enforceContract(trx, model, '__seglayer_delta'));
    const columns = Object.keys(model.columns);
    const list = columns.map(() => '??').join(', ');
    let deleted = 0;
    const inserted = await timer.time('write', async () => {
      deleted = await prepare(trx);
      return trx.raw(`insert into ${target} (${list}) select ${list} from __seglayer_delta`, [...columns, ...columns]);
    });
    const increment = request.testIncrementOnly ? '__seglayer_delta' : undefined;
    const tests = await timer.time('tests', () => runTests(trx, target, compileTests(trx, model, target, increment, replacedBy), increment));
    if (tests.some((t) => t.status === 'fail')) throw new ModelTestFailure(model.name, tests);
    // Rows are only ever added or removed here and by a swap, both of which record the count: no scan of the table.
    const before = await recordedRows(trx, model.name);
    const rows = before === undefined ? Number((await trx.raw(`select count(*)::bigint as n from ${target}`)).rows[0].n) : before - deleted + Number(inserted.rowCount);
    await publishExtras(trx, request, rows);
    return { rows, tests, action: describe(Number(inserted.rowCount)) };
  });
  // The rest of the transaction (quarantine, batches taken in, the row count, commit) publishes.
  const { query, write, tests } = timer.phases;
  timer.phases.publish = (performance.now() - started) / 1000 - query - write - tests;
  return { ...done, phases: timer.phases };
}
