/**
 * `seglayer build` / `seglayer test`: runs the selected models in dependency
 * order, independent ones concurrently (build-scheduler.ts), under the build lock. A model whose SQL
 * or tests fail keeps its previous version; everything downstream of it is
 * skipped and named. Every model run and test result is recorded in ops.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import knexFactory, { type Knex } from 'knex';
import type pg from 'pg';
import { acquireBuildLock } from './build-lock.ts';
import { runSchedule } from './build-scheduler.ts';
import { enforceContract } from './column-contract.ts';
import { compileTests, runTests, runTestsInOneScan } from './column-tests.ts';
import { compileModel, compilerKnex, quoteRelation } from './model-compiler.ts';
import type { BuildContext, IncrementalContext } from './model-definition.ts';
import type { Model } from './model-discovery.ts';
import { checkDefinitions, type DefinitionFingerprints } from './definition-changes.ts';
import { APPENDED_FROM } from '../identity/appended-users.ts';
import { deltaContext, forgetChanges, recordDeltaBases, sqlFingerprint } from './model-changes.ts';
import { ModelGraph } from './model-graph.ts';
import { REPLACED_RANGES } from './materializations/incremental.ts';
import { readsAppendedUsers, readsTouchedUsers, RunTouchedUsers, TOUCHED_USERS_SCHEMA, touchedUsersFinalAfter } from './run-touched-users.ts';
import { testsFingerprint } from './tests-fingerprint.ts';
import { readsRawOnly, sourcesUnchanged, viewFingerprint } from './unchanged-view.ts';
import { dropLeftovers, failedTestsSummary, materialize, ModelTestFailure, relationExists, type ModelPhases, type TestOutcome } from './materializer.ts';

export interface RunOptions {
  select?: string[];
  exclude?: string[];
  fullRefresh?: boolean;
  threads?: number;
  /** Queue behind a running build instead of exiting. */
  wait?: boolean;
  /** Run only the models' tests against their published relations. */
  testsOnly?: boolean;
  /** After the first model that fails, start no other (the ones running finish); the rest are skipped. */
  failFast?: boolean;
  onEvent?: (event: RunEvent) => void;
}

export type RunEvent =
  | { kind: 'start'; model: string; index: number; total: number }
  | { kind: 'done'; result: ModelResult; index: number; total: number }
  | { kind: 'cleanup'; dropped: string[] }
  | { kind: 'terminated'; statements: number };

export interface ModelResult {
  model: string;
  status: 'success' | 'error' | 'skipped';
  rows: number | null;
  seconds: number;
  action?: string;
  error?: string;
  tests: TestOutcome[];
  /** Built models: seconds by step; the rest of `seconds` is the runner's bookkeeping (context, refusal, records). */
  phases?: ModelPhases;
  /** Built models: computed whole (true), or an incremental or append model adding to its published rows (false). */
  builtInFull?: boolean;
}

export interface RunSummary {
  runId: string;
  results: ModelResult[];
  ok: boolean;
}

export function buildGraph(models: Model[]): ModelGraph {
  const known = new Set(models.map((m) => m.name));
  // A relationships test reads its target, so the target must be built first (as in dbt).
  const testTargets = (m: Model) =>
    Object.values(m.columns).flatMap((c) => c.tests.flatMap((t) => (typeof t === 'object' && 'relationships' in t ? [t.relationships.to] : [])));
  const refs = new Map(models.map((m) => [m.name, [...compileModel(m, known).refs, ...incrementalRefs(m, known), ...testTargets(m)]]));
  return new ModelGraph(models, refs);
}

/**
 * What an incremental build reads beyond its full build: the incremental query, staleKeys and replaceFrom (e.g.
 * core.dim_users, for keys merged away). Unrecorded, such a read raced the model it reads: the keys
 * were looked up before that model had been rebuilt in the same run.
 */
function incrementalRefs(model: Model, known: ReadonlySet<string>): string[] {
  if (model.materialized !== 'incremental') return [];
  const incremental = { this: compilerKnex.raw(quoteRelation(model.name)), newBatches: [0], ...(model.incremental?.windowColumn ? { since: new Date(0) } : {}) };
  return [model.build, model.staleKeys, model.replaceFrom?.keys, model.rebuildWhen].flatMap((build) => (build ? compileModel({ ...model, build }, known, { incremental }).refs : []));
}

/** Why an incremental model's `rebuildWhen` says to build it whole this run, or undefined when it does not. */
async function rebuildReason(knex: Knex, model: Model, known: ReadonlySet<string>, incremental: IncrementalContext): Promise<string | undefined> {
  const { rows } = await knex.raw(compileModel({ ...model, build: model.rebuildWhen! }, known, { incremental, knex }).sql);
  if (rows.length !== 1 || typeof rows[0].rebuild !== 'boolean') throw new Error(`rebuildWhen must return one row with a boolean "rebuild" (got ${rows.length} rows)`);
  return rows[0].rebuild ? String(rows[0].reason ?? 'rebuildWhen held') : undefined;
}

/**
 * Seconds each model took the last time it built successfully the way it is expected to build now (none for a model
 * never built so): a model that can add to its published rows (incremental, append) is expected to, unless this run
 * is a --full-refresh, and its last full build says little about that (user_activity_periods: 2.9 s in full, 0.4 s
 * incrementally). The scheduler counts a model without seconds as the median model.
 */
export async function lastBuildSeconds(knex: Knex, models: Model[], fullRefresh: boolean): Promise<Map<string, number>> {
  const addsToPublished = (m: Model) => !fullRefresh && (m.materialized === 'incremental' || m.materialized === 'append');
  const { rows } = await knex.raw(
    // One index probe per model (model, started_at), however long the run history grows.
    `select m.model, last.seconds
     from unnest(?::text[], ?::boolean[]) as m(model, incrementally)
     cross join lateral (select extract(epoch from r.finished_at - r.started_at)::float8 as seconds
                         from ops.model_runs r where r.model = m.model and r.status = 'success' and r.finished_at is not null
                           and (not m.incrementally or r.built_in_full = false)
                         order by r.started_at desc limit 1) last`,
    [models.map((m) => m.name), models.map(addsToPublished)],
  );
  return new Map((rows as { model: string; seconds: number }[]).map((r) => [r.model, r.seconds]));
}

async function record(knex: Knex, runId: string, result: ModelResult, startedAt: Date, batchWatermark: number, fingerprint: string, definitions?: DefinitionFingerprints): Promise<void> {
  // The run and its tests in one statement: two round trips per model were ~1 ms of every model's bookkeeping.
  const tests = result.tests.map((t) => ({ test: t.name, column_name: t.column, status: t.status, failures: t.failures }));
  await knex.raw(
    `with run as (
       insert into ops.model_runs (run_id, batch_watermark, tests_fingerprint, definition_fingerprints, model, status, built_in_full, rows, error, started_at, finished_at)
       values (?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?, ?)
     )
     insert into ops.test_results (run_id, model, test, column_name, status, failures)
     select ?, ?, t.item ->> 'test', t.item ->> 'column_name', t.item ->> 'status', (t.item ->> 'failures')::bigint
     from jsonb_array_elements(?::jsonb) with ordinality as t(item, position)
     order by t.position`,
    [
      runId, batchWatermark, fingerprint,
      // What the rows were computed with (definition-changes.ts); only a success's counts.
      result.status === 'success' && definitions ? JSON.stringify(definitions) : null,
      result.model, result.status, result.builtInFull ?? null, result.rows, result.error ?? null,
      startedAt, new Date(startedAt.getTime() + result.seconds * 1000),
      runId, result.model, JSON.stringify(tests),
    ],
  );
}

/** Knex prefixes PostgreSQL's message with the whole statement: keep PostgreSQL's part. */
function describeError(error: unknown): string {
  const e = error as Error & { code?: string; detail?: string; hint?: string };
  const message = e.code && e.message.includes(' - ') ? e.message.slice(e.message.lastIndexOf(' - ') + 3) : e.message;
  return `${message}${e.detail ? ` (${e.detail})` : ''}${e.hint ? ` hint: ${e.hint}` : ''}`;
}

/** A batch `model` took in has been reverted since: what it touched is gone from raw. */
async function tookInRevertedBatch(knex: Knex, model: string): Promise<boolean> {
  const { rows } = await knex.raw(
    `select exists (select 1 from ops.load_batches b join ops.model_batches m on m.batch_id = b.batch_id and m.model = ? where b.status = 'reverted') as any`,
    [model],
  );
  return rows[0].any;
}

/** Committed batches (of this run's `batches`) that `model` has not taken in yet. */
async function newBatchesOf(knex: Knex, model: string, batches: number[]): Promise<number[]> {
  const { rows } = await knex.raw(
    `select coalesce(array_agg(b.batch_id order by b.batch_id), '{}') as ids from unnest(?::bigint[]) as b(batch_id)
     where not exists (select 1 from ops.model_batches m where m.model = ? and m.batch_id = b.batch_id)`,
    [batches, model],
  );
  return rows[0].ids.map(Number);
}

/**
 * What an incremental run of `model` rebuilds, or undefined for a full build.
 * Window models start at the lookback before the newest row, or earlier if
 * committed batches the model has not consumed yet hold older (late) rows. "Not
 * consumed" rather than "above a watermark": batch ids are taken when a load
 * starts, so a batch can commit after a later one. Key-only models (uniqueKey, no
 * window) select the keys their new batches touch; a reverted batch they took in
 * sends them back to a full build, since its rows, and so the keys it touched, are gone.
 */
async function incrementalContext(knex: Knex, model: Model, batches: number[]): Promise<IncrementalContext | undefined> {
  const { windowColumn, lookback, newBatchesOf: source } = model.incremental!;
  if (!(await hasDeclaredColumns(knex, model))) return undefined; // published before a column was added: build it in full
  const newBatches = await newBatchesOf(knex, model.name, batches);
  const context = { this: knex.raw(quoteRelation(model.name)), newBatches };
  if (!windowColumn) return (await tookInRevertedBatch(knex, model.name)) ? undefined : context;
  const { rows } = await knex.raw(`select max(??) - ?::interval as since from ${quoteRelation(model.name)}`, [windowColumn, lookback!]);
  let since: Date | undefined = rows[0].since ?? undefined;
  if (source) {
    const late = await knex.raw(
      `select min(r.??) as earliest from ${quoteRelation(source.table)} r where r.load_batch_id = any(?::bigint[])`,
      [source.windowColumn, newBatches],
    );
    const earliest: Date | null = late.rows[0].earliest;
    if (earliest && (!since || earliest < since)) since = earliest;
    // A reverted batch this model took in: its rows are gone from raw, so rebuild from the
    // earliest of them (recorded by the revert) to take them out of the model too.
    const reverted = await knex.raw(
      `select min((b.reverted_window -> ? ->> ?)::timestamptz) as earliest
       from ops.load_batches b join ops.model_batches m on m.batch_id = b.batch_id and m.model = ?
       where b.status = 'reverted'`,
      [source.table, source.windowColumn, model.name],
    );
    const undone: Date | null = reverted.rows[0].earliest;
    if (undone && (!since || undone < since)) since = undone;
  }
  return since ? { ...context, since } : undefined;
}

/**
 * Whether the published table of `model` has every column the model declares. Asked of every
 * incremental model on every build, so it reads pg_attribute (under 1 ms) rather than
 * information_schema.columns (3-12 ms on the 20k bench database).
 */
async function hasDeclaredColumns(knex: Knex, model: Model): Promise<boolean> {
  const { rows: columns } = await knex.raw(
    `select count(*)::int as n from pg_attribute where attrelid = to_regclass(?) and attnum > 0 and not attisdropped and attname = any(?)`,
    [quoteRelation(model.name), Object.keys(model.columns)],
  );
  return columns[0].n === Object.keys(model.columns).length;
}

/**
 * What a `readsPrevious` model may reuse: its published version, when it has every
 * declared column (a version built before a column was added is not reused) and no batch
 * it took in has been reverted since (those rows are gone; rebuild), with the committed
 * batches it has not taken in yet.
 */
async function previousVersion(knex: Knex, model: Model, batches: number[]): Promise<BuildContext['previous']> {
  if (!(await hasDeclaredColumns(knex, model))) return undefined;
  if (await tookInRevertedBatch(knex, model.name)) return undefined;
  return { this: knex.raw(quoteRelation(model.name)), newBatches: await newBatchesOf(knex, model.name, batches) };
}

/**
 * Whether the published rows of `model` passed the tests it declares now: the last
 * successful run of the model (a build or `seglayer test`) ran the same tests. Then an
 * incremental or append build need judge only the rows it adds.
 */
async function publishedPassedSameTests(knex: Knex, model: string, fingerprint: string): Promise<boolean> {
  const { rows } = await knex.raw(
    `select tests_fingerprint from ops.model_runs where model = ? and status = 'success' order by started_at desc, model_run_id desc limit 1`,
    [model],
  );
  return rows[0]?.tests_fingerprint === fingerprint;
}

/** Records, in the publishing transaction, that `model` has taken in `batches`. */
async function consumeBatches(trx: Knex.Transaction, model: string, batches: number[]): Promise<void> {
  // Reverted batches the model had taken in are out of it once it publishes: forget them. One statement: `batches`
  // are loaded ones, so the insert never meets a row the delete removes.
  await trx.raw(
    `with forgotten as (
       delete from ops.model_batches m using ops.load_batches b
       where m.model = ? and m.batch_id = b.batch_id and b.status = 'reverted'
     )
     insert into ops.model_batches (model, batch_id)
     select ?, b.batch_id from unnest(?::bigint[]) as b(batch_id)
     on conflict (model, batch_id) do nothing`,
    [model, model, batches],
  );
}

/** application_name of a build's model connections: names the backend holding its build lock. */
export const BUILD_APPLICATION_PREFIX = 'seglayer build (lock ';
const buildApplicationName = (lockPid: number) => `${BUILD_APPLICATION_PREFIX}${lockPid})`;

/**
 * The build's own Knex: the caller's pool settings, with connections named
 * after the lock holder and told to notice a vanished client. Without that, a
 * killed build's statement keeps running in PostgreSQL (and an autocommitted
 * `create table` can still commit) until it tries to send its result.
 */
function buildKnex(knex: Knex, lockPid: number): Knex {
  const config = knex.client.config as Knex.Config;
  const connection = config.connection as string | Knex.PgConnectionConfig;
  const base = typeof connection === 'string' ? { connectionString: connection } : connection;
  const afterCreate = config.pool?.afterCreate as ((c: pg.Client, done: (e: Error | null, c: pg.Client) => void) => void) | undefined;
  return knexFactory({
    ...config,
    connection: { ...base, application_name: buildApplicationName(lockPid) },
    pool: {
      ...config.pool,
      afterCreate: (c: pg.Client, done: (e: Error | null, c: pg.Client) => void) => {
        c.query(`set client_connection_check_interval = '1s'`, (error: Error | null) => {
          if (error || !afterCreate) done(error, c);
          else afterCreate(c, done);
        });
      },
    },
  });
}

/**
 * Under the lock, any backend still named after another build's lock holder is
 * a statement of a build that died (only the lock holder builds): end it before
 * touching what it may still be writing. Returns how many were ended.
 */
async function terminateOrphanedStatements(knex: Knex, lockPid: number): Promise<number> {
  const { rows } = await knex.raw(
    `select count(*) filter (where pg_terminate_backend(pid, 10000))::int as n from pg_stat_activity
     where datname = current_database() and starts_with(application_name, ?) and application_name <> ?`,
    [BUILD_APPLICATION_PREFIX, buildApplicationName(lockPid)],
  );
  return rows[0].n;
}

/** A model's `refuse` query found reasons not to build it. */
class ModelRefused extends Error {
  constructor(reasons: string[]) {
    super(`refused: ${reasons.join('; ')}`);
  }
}

export async function runModels(ops: Knex, url: string, models: Model[], options: RunOptions = {}): Promise<RunSummary> {
  const graph = buildGraph(models);
  const selected = graph.select(options.select, options.exclude);
  const lock = await acquireBuildLock(url, { wait: options.wait });
  const knex = buildKnex(ops, lock.backendPid);
  const runId = randomUUID();
  const results = new Map<string, ModelResult>();
  const touchedUsers = new RunTouchedUsers(knex, runId);
  try {
    const schemas = [...new Set(models.map((m) => m.name.split('.')[0]!))];
    if (!options.testsOnly) {
      const statements = await terminateOrphanedStatements(knex, lock.backendPid);
      if (statements) options.onEvent?.({ kind: 'terminated', statements });
      const dropped = await dropLeftovers(knex, [...schemas, TOUCHED_USERS_SCHEMA]);
      if (dropped.length) options.onEvent?.({ kind: 'cleanup', dropped });
    }
    // The batches committed now are what this run takes in; later commits wait for the next run.
    const batches: number[] = (await knex.raw(`select coalesce(array_agg(batch_id order by batch_id), '{}') as ids from ops.load_batches where status = 'loaded'`)).rows[0].ids.map(Number);
    const watermark = batches.length ? batches[batches.length - 1]! : 0;
    const known = new Set(models.map((m) => m.name));
    const threads = Math.max(1, options.threads ?? availableParallelism());

    let failed: string | undefined;
    const runOne = async (name: string, index: number) => {
      lock.assertHeld();
      if (options.failFast && failed) {
        const result: ModelResult = { model: name, status: 'skipped', rows: null, seconds: 0, error: `not run: ${failed} failed and --fail-fast stops the run`, tests: [] };
        results.set(name, result);
        await record(knex, runId, result, new Date(), watermark, testsFingerprint(graph.byName.get(name)!));
        options.onEvent?.({ kind: 'done', result, index, total: selected.length });
        return false;
      }
      const model = graph.byName.get(name)!;
      const startedAt = new Date();
      const t0 = performance.now();
      options.onEvent?.({ kind: 'start', model: name, index, total: selected.length });
      let result: ModelResult;
      let newBatches: number[] | undefined;
      let fingerprint = testsFingerprint(model);
      let definitions: DefinitionFingerprints | undefined;
      try {
        if (options.testsOnly) {
          if (!(await relationExists(knex, name))) throw new Error(`${name} has not been built yet`);
          await enforceContract(knex, model, quoteRelation(name));
          const tests = model.materialized === 'view'
            ? await runTestsInOneScan(knex, model, quoteRelation(name))
            : await runTests(knex, quoteRelation(name), compileTests(knex, model, quoteRelation(name)));
          const failed = tests.some((t) => t.status === 'fail');
          result = { model: name, status: failed ? 'error' : 'success', rows: null, seconds: 0, tests, error: failed ? failedTestsSummary(tests) : undefined };
        } else {
          // A changed definition (its own SQL, a model upstream) makes the kept rows stale: build in full.
          const definitionCheck = await checkDefinitions(knex, graph, model, known);
          definitions = definitionCheck.fingerprints;
          const redefined = definitionCheck.changed;
          const published = await relationExists(knex, name);
          let incremental = model.materialized === 'incremental' && !options.fullRefresh && !redefined.length && published
            ? await incrementalContext(knex, model, batches)
            : undefined;
          newBatches = incremental?.newBatches;
          // The model says this run replaces every key anyway: built whole, and its changes kept as a diff.
          const rebuilt = incremental && model.rebuildWhen ? await rebuildReason(knex, model, known, incremental) : undefined;
          if (rebuilt) incremental = undefined;
          // The touched users of its new batches, computed once per run for every model that reads them (run-touched-users.ts).
          if (incremental && readsTouchedUsers(model, known, incremental)) incremental = { ...incremental, touchedUsers: knex.raw(await touchedUsers.of(incremental.newBatches)) };
          if (incremental && model.replaceFrom) incremental = { ...incremental, replaced: knex.raw(REPLACED_RANGES) };
          // Append models are history: --full-refresh does not start them over.
          const appendTo = model.materialized === 'append' && published ? knex.raw(quoteRelation(name)) : undefined;
          const previous = model.readsPrevious && !options.fullRefresh && !redefined.length && published ? await previousVersion(knex, model, batches) : undefined;
          if (model.refuse) {
            const refusal = compileModel({ ...model, build: model.refuse }, known, { incremental, appendTo, knex }).sql;
            const reasons: string[] = (await knex.raw(refusal)).rows.map((row: { reason: string }) => row.reason);
            if (reasons.length) throw new ModelRefused(reasons);
          }
          let compiled = compileModel(model, known, { incremental, appendTo, previous, knex });
          // Delta maintenance: from the published rows and the upstreams' changes, when those follow exactly what they were computed from.
          // Of the full build's SQL: an incremental run's names its new batches. An append model's as it appends, also on
          // its first build: that build's rows are as good a base to append to.
          const basedOn = () => incremental ? compileModel(model, known, { knex }).sql
            : model.materialized === 'append' && !appendTo ? compileModel(model, known, { appendTo: knex.raw(quoteRelation(name)), knex }).sql
            : compiled.sql;
          const deltaBase = model.deltaFrom ? sqlFingerprint(basedOn()) : undefined;
          // An incremental model built in full (a changed definition, a reverted batch, a missing column) is computed
          // from scratch: a delta would make it publish only the rows the changes touch.
          const buildsInFull = model.materialized === 'incremental' && !incremental;
          const delta = deltaBase && !options.fullRefresh && !buildsInFull && published ? await deltaContext(knex, model, runId, deltaBase) : undefined;
          // The appended users of a model updated from fct_events' and the map's changes, once per run (run-touched-users.ts).
          if (delta && incremental && APPENDED_FROM.every((m) => model.deltaFrom?.includes(m)) && readsAppendedUsers(model, known, incremental, delta)) {
            incremental = { ...incremental, appendedUsers: knex.raw(await touchedUsers.appendedOf(incremental.newBatches)) };
          }
          if (delta) compiled = compileModel(model, known, { incremental, appendTo, previous, delta, knex });
          // The quarantine checks only what new batches touch when the model says which rows that is.
          const scoped = incremental && model.quarantine && model.quarantineReplaces && !(await tookInRevertedBatch(knex, name)) ? incremental : undefined;
          const quarantineSql = model.quarantine
            ? compileModel({ ...model, build: model.quarantine }, known, { incremental: scoped, knex }).sql
            : undefined;
          const quarantineReplacesSql = scoped && model.quarantineReplaces
            ? compileModel({ ...model, build: model.quarantineReplaces }, known, { incremental: scoped, knex }).sql
            : undefined;
          const staleKeysSql = incremental && model.staleKeys
            ? compileModel({ ...model, build: model.staleKeys }, known, { incremental, delta, knex }).sql
            : undefined;
          const replaceFromSql = incremental && model.replaceFrom
            ? compileModel({ ...model, build: model.replaceFrom.keys }, known, { incremental, delta, knex }).sql
            : undefined;
          // Rows kept from earlier builds passed these very tests: judge only what this build adds.
          const testIncrementOnly = (incremental !== undefined || appendTo !== undefined) && (await publishedPassedSameTests(knex, name, fingerprint));
          // A view over raw tables whose SQL, tests and sources are as when its tests last passed has the same rows.
          const rawView = readsRawOnly(model, compiled.refs);
          if (rawView) fingerprint = viewFingerprint(model, compiled.sql);
          const unchangedSincePassed = rawView && !options.fullRefresh && published
            && (await publishedPassedSameTests(knex, name, fingerprint)) && (await sourcesUnchanged(knex, name, compiled.refs, batches));
          // Every incremental (and readsPrevious) model records the batches it took in: `newBatches` is what it has not.
          const tracksBatches = model.materialized === 'incremental' || model.readsPrevious === true || rawView;
          const done = await materialize({
            db: knex,
            model,
            sql: compiled.sql,
            quarantineSql,
            quarantineReplacesSql,
            incremental: incremental && { since: incremental.since, staleKeysSql, replaceFromSql },
            appendToExisting: appendTo !== undefined,
            testIncrementOnly,
            unchangedSincePassed,
            testsImpliedBy: model.testsImpliedBy && !options.fullRefresh ? model.testsImpliedBy : undefined,
            keepChanges: model.keepChanges ? { runId, diffWhole: rebuilt !== undefined } : undefined,
            carryStatistics: rebuilt !== undefined,
            onPublish: async (trx) => {
              lock.assertHeld();
              if (tracksBatches) await consumeBatches(trx, name, batches);
              if (deltaBase) await recordDeltaBases(trx, model, runId, deltaBase);
              if (!model.keepChanges) await forgetChanges(trx, name);
            },
          });
          const because = rebuilt ? ` (in full: ${rebuilt})`
            : redefined.length && !options.fullRefresh && (model.materialized === 'incremental' || model.readsPrevious) && published
            ? ` (in full: ${definitionCheck.recorded ? `${redefined.map((r) => (r === name ? 'its SQL' : r)).join(', ')} changed since its last build` : 'its last build recorded no definitions'})` : '';
          result = { model: name, status: 'success', rows: done.rows, seconds: 0, action: (delta ? `${done.action} (delta from ${model.deltaFrom!.join(', ')})` : done.action) + because, tests: done.tests, phases: done.phases, builtInFull: !incremental && !appendTo };
        }
      } catch (error) {
        const tests = error instanceof ModelTestFailure ? error.tests : [];
        result = { model: name, status: 'error', rows: null, seconds: 0, error: `${model.file}: ${describeError(error)}`, tests };
      }
      result.seconds = (performance.now() - t0) / 1000;
      results.set(name, result);
      // The touched users are final once what they are read from has built: made now, beside the models that run on
      // (fct_events, on the round's critical path, reads none), not by the first model that asks (dim_users, next on it).
      if (newBatches?.length && touchedUsersFinalAfter(name, selected, (m) => results.get(m)?.status === 'success')) {
        touchedUsers.of(newBatches).catch(() => undefined); // a failure is met again by the first model that asks
      }
      await record(knex, runId, result, startedAt, watermark, fingerprint, definitions);
      options.onEvent?.({ kind: 'done', result, index, total: selected.length });
      if (result.status !== 'success') failed ??= name;
      return result.status === 'success';
    };

    const skip = async (name: string, because: string, index: number) => {
      const result: ModelResult = { model: name, status: 'skipped', rows: null, seconds: 0, error: `upstream ${because} did not build`, tests: [] };
      results.set(name, result);
      await record(knex, runId, result, new Date(), watermark, testsFingerprint(graph.byName.get(name)!));
      options.onEvent?.({ kind: 'done', result, index, total: selected.length });
    };

    // The last build's seconds of each model put the longest chain first (build-scheduler.ts).
    const lastSeconds = await lastBuildSeconds(knex, selected.map((name) => graph.byName.get(name)!), options.fullRefresh === true);
    await runSchedule({ order: selected, upstream: (name) => graph.upstream.get(name)!, threads, run: runOne, skip, seconds: (name) => lastSeconds.get(name) });
  } finally {
    // A table left by a failed drop goes with the next build's leftovers.
    await touchedUsers.drop().catch(() => undefined);
    // Model connections end before the lock is released, so the next build never sees them.
    await knex.destroy();
    await lock.release();
  }
  if (lock.lost) throw lock.lost;
  const ordered = selected.map((n) => results.get(n)!);
  return { runId, results: ordered, ok: ordered.every((r) => r.status === 'success') };
}
