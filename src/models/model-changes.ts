/**
 * Delta maintenance (issue 19). A model with `keepChanges` keeps, beside its table
 * (`__seglayer_changes_<table>`), the rows its latest publish removed and added (net: a row
 * that comes back unchanged is neither; an append's: the rows it appended), written in the publishing transaction and stamped in ops.model_changes with that run and the run whose
 * version they replaced (null when the publish was no diff: a first or full build). A model
 * with `deltaFrom` records in its own publishing transaction which upstream publishes its rows
 * were computed from (ops.model_delta_bases), with a fingerprint of its full SQL.
 *
 * A run may then update the downstream model from its published rows and the upstreams'
 * changes only when every upstream published in this run, its changes follow exactly the
 * version the downstream was computed from, and the downstream's SQL is unchanged. A missed
 * upstream run, a failed downstream run, a full build of an upstream, a changed definition or
 * --full-refresh all break that chain, and the downstream is computed from scratch, which stays
 * the definition of truth.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { quoteRelation } from './model-compiler.ts';
import type { DeltaContext } from './model-definition.ts';
import type { Model } from './model-discovery.ts';
import { relation, splitName, TEMP_PREFIX } from './materializations/relations.ts';

export const CHANGES_PREFIX = '__seglayer_changes_';
/** The statistics target a side table is analyzed with (PostgreSQL samples 300 rows per unit). */
const CHANGES_STATISTICS_TARGET = 10;

/** The side table holding a model's latest changes (quoted). */
export function changesRelation(modelName: string): string {
  const [schema, table] = splitName(modelName);
  return relation(schema, CHANGES_PREFIX + table);
}

/** The columns a model's changes keep. */
export const keptColumns = (model: Model): string[] => model.keepChanges?.columns ?? Object.keys(model.columns);

/** What a downstream model's published rows depend on besides its upstreams: its full SQL. */
export const sqlFingerprint = (sql: string): string => createHash('sha256').update(sql).digest('hex').slice(0, 32);

/**
 * The side table anew (`side`: the model's, in the publishing transaction, or the staged copy
 * stageTableDiff fills beside the tests), empty, with the kept columns of `shape` (a relation
 * holding the new rows) and a `change` column.
 */
export async function startChanges(trx: Knex | Knex.Transaction, model: Model, shape: string, side = changesRelation(model.name)): Promise<string> {
  const columns = keptColumns(model);
  await trx.raw(`drop table if exists ${side}`);
  await trx.raw(`create table ${side} as select null::text as change, ${columns.map(() => '??').join(', ')} from ${shape} where false`, columns);
  return side;
}

/**
 * `select <columns>, net`: the rows of `next` and `old` (relations or CTE names) whose counts differ, as multisets
 * over `columns`, with how many more `next` holds (negative: fewer). One grouped pass over both; grouping compares
 * nulls as equal. Bindings: `columns` three times.
 */
export function netDifferenceSql(columns: readonly string[], old: string, next: string): string {
  const list = columns.map(() => '??').join(', ');
  return `select ${list}, sum(sign) as net
       from (select ${list}, 1 as sign from ${next} union all select ${list}, -1 from ${old}) u
       group by ${columns.map((_, i) => i + 1).join(', ')} having sum(sign) <> 0`;
}

/**
 * An insert into the side table of the net difference between the rows of `old` and `next`
 * by the kept columns (netDifferenceSql), each written as that many removed or added rows.
 * Bindings: netChangesBindings.
 */
export function netChangesInsert(model: Model, old: string, next: string, side = changesRelation(model.name)): string {
  const columns = keptColumns(model);
  return `insert into ${side} (change, ${columns.map(() => '??').join(', ')})
     select case when d.net > 0 then 'added' else 'removed' end, ${columns.map(() => 'd.??').join(', ')}
     from (${netDifferenceSql(columns, old, next)}) d cross join generate_series(1, abs(d.net)::int)`;
}

export const netChangesBindings = (model: Model): string[] => Array.from({ length: 5 }, () => keptColumns(model)).flat();

/**
 * Where a table publish's diff is staged before its publishing transaction takes it in as the side
 * table (quoted): named with the temporary prefix, so a killed build's copy is dropped as a leftover.
 */
export function stagedChangesRelation(modelName: string): string {
  const [schema, table] = splitName(modelName);
  return relation(schema, TEMP_PREFIX + CHANGES_PREFIX + table);
}

/**
 * A table model's diff of the published table and the new one (`next`), staged outside the publishing
 * transaction so that it runs beside the new table's tests on another connection: under the build lock
 * neither table changes until the publish, which takes the staged table in (keepTableChanges). One grouped
 * pass (netChangesInsert): two `except all` passes took twice as long on segments.current_membership.
 */
export async function stageTableDiff(db: Knex, model: Model, next: string): Promise<void> {
  const staged = stagedChangesRelation(model.name);
  await startChanges(db, model, next, staged);
  await db.raw(netChangesInsert(model, quoteRelation(model.name), next, staged), netChangesBindings(model));
}

/** An append's publish: its changes are the rows it appends (`delta`, a relation holding them), all added. */
export async function keepAppended(trx: Knex.Transaction, model: Model, runId: string, delta: string): Promise<void> {
  const columns = keptColumns(model);
  const list = columns.map(() => '??').join(', ');
  await startChanges(trx, model, delta);
  await trx.raw(`insert into ${changesRelation(model.name)} (change, ${list}) select 'added', ${list} from ${delta}`, [...columns, ...columns]);
  await stampChanges(trx, model, runId, true);
}

/**
 * Analyzes the side table and stamps it with this run: when it holds a diff, it follows the version the
 * previous stamp named (none: no stamp, so no delta downstream); otherwise it follows nothing.
 */
export async function stampChanges(trx: Knex.Transaction, changed: Model, runId: string, isDiff: boolean): Promise<void> {
  const model = changed.name;
  // Analyzed: the models reading the changes plan on their size (unanalyzed, 6.6k rows of core.fct_events' were
  // estimated at one, and a nested loop against them took 5.7 s in marts.experiment_user_metrics). JSON columns
  // are left out: nothing plans on their statistics, and fct_events' properties were 35 ms of the analyze's 85.
  // A sample of 3,000 rows (statistics target 10) rather than 30,000: a round's changes are a few thousand rows to
  // tens of thousands, read by key or aggregated; the default read every row of core.fct_events' 11k (40-60 ms → 11 ms).
  const analyzed = ['change', ...keptColumns(changed).filter((c) => !/^jsonb?$/i.test(changed.columns[c]?.type ?? ''))];
  const analyze = trx.raw(`analyze ${changesRelation(model)} (${analyzed.map(() => '??').join(', ')})`, analyzed).toQuery();
  await trx.raw(`set local default_statistics_target = ${CHANGES_STATISTICS_TARGET}; ${analyze}; set local default_statistics_target to default`);
  await trx.raw(
    `insert into ops.model_changes as c (model, run_id, follows_run_id) values (?, ?, null)
     on conflict (model) do update set follows_run_id = case when ? then c.run_id end, run_id = excluded.run_id`,
    [model, runId, isDiff],
  );
}

/** A model without keepChanges published: any stamp it left earlier no longer describes its table. */
export async function forgetChanges(trx: Knex.Transaction, model: string): Promise<void> {
  await trx.raw(`delete from ops.model_changes where model = ?`, [model]);
}

/**
 * The delta context of a model with `deltaFrom`, or undefined when it must be computed from
 * scratch: every upstream published in this run (`runId`) with changes that follow the very
 * publish the model's rows were computed from, and the model's SQL fingerprint is the one recorded then.
 */
export async function deltaContext(knex: Knex, model: Model, runId: string, fingerprint: string): Promise<DeltaContext | undefined> {
  const upstreams = model.deltaFrom ?? [];
  if (!upstreams.length) return undefined;
  const { rows } = await knex.raw(
    `select count(*)::int as n from ops.model_changes c join ops.model_delta_bases b on b.model = ? and b.upstream = c.model
     where c.model = any(?) and c.run_id = ? and c.follows_run_id = b.upstream_run_id and b.fingerprint = ?`,
    [model.name, upstreams, runId, fingerprint],
  );
  if (rows[0].n !== upstreams.length) return undefined;
  return { this: knex.raw(quoteRelation(model.name)), changes: Object.fromEntries(upstreams.map((u) => [u, knex.raw(changesRelation(u))])) };
}

/**
 * In the publishing transaction of a model with `deltaFrom`: its rows now follow each
 * upstream's publish of this run (an upstream that did not publish in this run, or keeps no
 * stamp, is recorded as unknown, so the next run computes from scratch).
 */
export async function recordDeltaBases(trx: Knex.Transaction, model: Model, runId: string, fingerprint: string): Promise<void> {
  await trx.raw(`delete from ops.model_delta_bases where model = ?`, [model.name]);
  await trx.raw(
    `insert into ops.model_delta_bases (model, upstream, upstream_run_id, fingerprint)
     select ?, u.upstream, c.run_id, ? from unnest(?::text[]) as u(upstream)
     left join ops.model_changes c on c.model = u.upstream and c.run_id = ?`,
    [model.name, fingerprint, model.deltaFrom ?? [], runId],
  );
}

/**
 * A table publish, in its transaction before the swap: a table model's changes are the diff of
 * the published table and the new one (`isDiff`: staged by stageTableDiff), as are those of an
 * incremental model its rebuildWhen built whole; one built in full otherwise (first build,
 * --full-refresh, a reverted batch) records no diff, so nothing downstream applies one.
 */
export async function keepTableChanges(trx: Knex.Transaction, model: Model, runId: string, isDiff: boolean, next: string): Promise<void> {
  if (isDiff) {
    const [, table] = splitName(model.name);
    await trx.raw(`drop table if exists ${changesRelation(model.name)}`);
    await trx.raw(`alter table ${stagedChangesRelation(model.name)} rename to ??`, [CHANGES_PREFIX + table]);
  } else await startChanges(trx, model, next);
  await stampChanges(trx, model, runId, isDiff);
}
