/**
 * What a model file declares. A model is one TypeScript module under
 * models/<layer>/<name>.ts whose default export is `defineModel({...})`:
 *
 *   export default defineModel({
 *     name: 'core.dim_users',
 *     description: 'One row per canonical user',
 *     owner: 'data-platform',
 *     materialized: 'table',
 *     columns: { user_key: { type: 'text', tests: ['not_null', 'unique'] } },
 *     build: (knex, { ref }) => knex.raw(`select ... from ${ref('staging.stg_users')}`),
 *   });
 *
 * Definitions are validated with zod when discovered; nothing runs if any is
 * invalid, and every error names the file and the field.
 */
import type { Knex } from 'knex';
import { z } from 'zod';

const identifier = /^[a-z_][a-z0-9_]*$/;

export const columnTestSchema = z.union([
  z.literal('not_null'),
  z.literal('unique'),
  z.object({ accepted_values: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1) }).strict(),
  z.object({ relationships: z.object({ to: z.string().regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/), field: z.string().regex(identifier) }).strict() }).strict(),
  /** A SQL boolean expression over the row that must hold, e.g. `amount >= 0`. */
  z.object({ expression: z.string().min(1) }).strict(),
]);
export type ColumnTest = z.infer<typeof columnTestSchema>;

export const columnSchema = z
  .object({
    type: z.string().min(1).optional(),
    description: z.string().min(1),
    tests: z.array(columnTestSchema).default([]),
    /** Personal data (an email, a name): marked in the docs; governance.yml decides who may query it. */
    pii: z.boolean().optional(),
  })
  .strict();

export const incrementalSchema = z
  .object({
    /** Column that orders the data in time; the rebuilt window is measured on it. */
    windowColumn: z.string().regex(identifier).optional(),
    /** How far back before the newest row to rebuild, to take in late data (a PostgreSQL interval). */
    lookback: z.string().regex(/^\d+ (minutes?|hours?|days?)$/, 'an interval such as "3 days" or "12 hours"').optional(),
    /**
     * The raw table whose new load batches feed this model: rows of batches
     * loaded since the last successful run widen the rebuilt window back to
     * their earliest time, however late they arrived.
     */
    newBatchesOf: z.object({ table: z.string().regex(/^raw\.[a-z_]+$/), windowColumn: z.string().regex(identifier) }).strict().optional(),
    /**
     * The column that identifies a row (as dbt's unique_key): an incremental build
     * replaces every published row whose key the query returns, besides the window.
     * A model with a key and no window recomputes only the keys its query selects
     * (e.g. the users touched by new batches, `incremental.newBatches`). A list of columns
     * is a composite key (an aggregate's cell, e.g. segment × day).
     */
    uniqueKey: z.union([z.string().regex(identifier), z.array(z.string().regex(identifier)).min(2)]).optional(),
    /**
     * A SQL predicate over the declared columns: on an incremental run, a row of the query for
     * which it holds is a tombstone: it removes the published row with its key and is neither
     * inserted nor tested (an aggregate's cell that dropped out). Needs a uniqueKey.
     */
    tombstoneWhere: z.string().min(1).optional(),
    /**
     * With a uniqueKey and no window: a key whose rows the query returns exactly as published is left alone, neither
     * deleted nor inserted again (src/models/materializations/unchanged-keys.ts). For models whose incremental query
     * recomputes many keys that mostly come out the same (a touched user's every path, every cell a change may touch):
     * the comparison costs a read of those keys' published rows, the rewrite it saves a delete, an insert and their
     * index entries.
     */
    skipUnchanged: z.boolean().optional(),
  })
  .strict()
  .refine((i) => (i.windowColumn === undefined) === (i.lookback === undefined), 'windowColumn and lookback go together')
  .refine((i) => i.windowColumn !== undefined || i.uniqueKey !== undefined, 'a windowColumn (with lookback), a uniqueKey, or both')
  .refine((i) => i.tombstoneWhere === undefined || i.uniqueKey !== undefined, 'tombstoneWhere needs a uniqueKey')
  .refine((i) => !i.skipUnchanged || (i.uniqueKey !== undefined && i.windowColumn === undefined), 'skipUnchanged needs a uniqueKey and no windowColumn');

/** The `source` of a model's rows in ops.quarantine (its quarantine query's rows, replaced when it publishes). */
export const quarantineSource = (model: string): string => `model:${model}`;

/** What an incremental run of a model gets to select its rows. */
export interface IncrementalContext {
  /** The published table (quoted), e.g. to read rows kept from earlier builds. */
  this: Knex.Raw;
  /** Window models: select only rows with windowColumn >= since. Unset for key-only models. */
  since?: Date;
  /** Committed load batches this model has not taken in yet (ids of ops.load_batches). */
  newBatches: number[];
  /**
   * A table (quoted) of the `user_key`s exactly these newBatches touch (src/identity/touched-identities.ts),
   * computed once per run and analyzed, set by the runner for a model whose build asks for it; unset, a model
   * computes the set itself (src/identity/touched-users-rows.ts does either).
   */
  touchedUsers?: Knex.Raw;
  /**
   * With a delta from core.fct_events and core.user_identity_map: a table (quoted) of the users whose only change
   * in this run is new events after their stored ones (src/identity/appended-users.ts), computed once per run and
   * analyzed, set by the runner for a model whose build asks for it; unset, the model computes it itself.
   */
  appendedUsers?: Knex.Raw;
  /**
   * Models with replaceFrom, on every incremental run: a temporary table (quoted) of the ranges the build replaces,
   * one row per key (the uniqueKey column and `replace_from`, null: every row of the key), the stale keys among them,
   * analyzed: the query can select exactly those rows without computing the ranges again.
   */
  replaced?: Knex.Raw;
}

/** What `build` receives besides Knex. */
export interface BuildContext {
  /** A relation this model reads: records the dependency and returns the quoted name. */
  ref(name: string): Knex.Raw;
  /**
   * Set on an incremental run (not on the first build nor --full-refresh): the
   * model should select only the rows to replace (windowColumn >= `since`, or the
   * keys its new batches touched).
   */
  incremental?: IncrementalContext;
  /**
   * Set for an `append` model whose table exists: the published table, so the
   * query can select only what is new relative to it (e.g. changes since the
   * last build). The rows the query returns are appended.
   */
  appendTo?: Knex.Raw;
  /**
   * Set for a `table` model with `readsPrevious` whose published version has the
   * declared columns (not on --full-refresh, nor after a batch it took in was reverted):
   * that version, and the committed load batches it has not taken in yet, so the query
   * can reuse rows the new batches cannot have changed.
   */
  previous?: { this: Knex.Raw; newBatches: number[] };
  /**
   * Set for a model with `deltaFrom` when every one of those upstreams published this run
   * and recorded its changes since exactly the versions this model's published rows were
   * computed from (src/models/model-changes.ts): the query may then compute its new rows
   * from its published version and those changes. Unset: compute from scratch.
   */
  delta?: DeltaContext;
}

/** What a model with `deltaFrom` may update itself from. */
export interface DeltaContext {
  /** The model's published table (quoted). */
  this: Knex.Raw;
  /** Per upstream: its rows removed and added since that version, columns `change` ('removed' | 'added') and its kept columns. */
  changes: Record<string, Knex.Raw>;
}

export type BuildResult = Knex.QueryBuilder | Knex.Raw;

export const modelSchema = z
  .object({
    name: z.string().regex(/^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/, 'a schema-qualified snake_case name such as core.dim_users'),
    description: z.string().min(1),
    owner: z.string().min(1),
    tags: z.array(z.string().regex(identifier)).default([]),
    /**
     * view | table | incremental (rebuilds a window) | append (adds the query's rows
     * to the table on every build; the table is history, so --full-refresh keeps it).
     */
    materialized: z.enum(['view', 'table', 'incremental', 'append']).optional(),
    /** Upstream models read without ref() (rare: ref() records dependencies itself). */
    dependsOn: z.array(z.string()).default([]),
    incremental: incrementalSchema.optional(),
    /**
     * Indexes on a table, incremental or append model, one list of columns each, e.g.
     * [['user_key'], ['occurred_at']]: what an incremental build's window delete, key
     * delete and per-user reads need. Built with the table, before it is swapped in.
     */
    indexes: z.array(z.array(z.string().regex(identifier)).min(1)).default([]),
    /**
     * Partial indexes, named `<table>__<name>`: `columns` over the rows where `where` (SQL over
     * the model's columns) holds. For a read of a small fixed slice of a large table that an
     * index of every row would make every incremental write pay for (cohort_retention's period-0
     * rows of user_activity_periods: a full (period_number, first_at) index doubled its inserts).
     */
    partialIndexes: z.array(z.object({ name: z.string().regex(identifier), columns: z.array(z.string().regex(identifier)).min(1), where: z.string().min(1) }).strict()).default([]),
    /**
     * A table that may reuse its published version (segments refreshed incrementally): the
     * build receives it as `previous` with the load batches taken in since, and the run
     * records the batches it takes in (ops.model_batches), as for incremental models.
     */
    readsPrevious: z.boolean().optional(),
    /**
     * A setting bound into the model's SQL that downstream models read as data and follow
     * (the pinned reference time): a change of its SQL does not build incremental models
     * downstream in full, as any other upstream definition change does (definition-changes.ts).
     */
    definitionReadAsData: z.boolean().optional(),
    /**
     * Views only: upstream models whose declared tests imply this view's (its key follows from
     * theirs). A view stores nothing to test by increment, so its tests re-run it whole on every
     * build; with this they run on `seglayer test` and `--full-refresh`, and ordinary builds
     * check its columns only. Say why beside it.
     */
    testsImpliedBy: z.array(z.string()).min(1).optional(),
    /**
     * Table, incremental and append models: each publish keeps the rows it removed and added
     * (an append: the rows it appended; only these columns, default all) for downstream models
     * with `deltaFrom` to apply.
     */
    keepChanges: z.object({ columns: z.array(z.string().regex(identifier)).min(1).optional() }).strict().optional(),
    /**
     * Upstream models with `keepChanges` this model can be updated from (delta maintenance):
     * its build receives `delta` when their changes follow exactly what it was computed from.
     * Table models (the new rows from the published ones), incremental models (the rows to replace) and append models (the rows to append).
     */
    deltaFrom: z.array(z.string()).optional(),
    /** Table-level tests: expressions over the whole relation, e.g. unique combinations. */
    tests: z.array(z.union([
      z.object({ unique_combination: z.array(z.string().regex(identifier)).min(2) }).strict(),
      /**
       * dbt_utils' test of the same name: within each partition, the half-open ranges
       * [lower, upper) do not overlap (a null upper bound: open-ended; an empty range, lower =
       * upper, holds no instant and is skipped). On an increment, the partitions it touches.
       */
      z.object({
        mutually_exclusive_ranges: z.object({
          lower_bound_column: z.string().regex(identifier),
          upper_bound_column: z.string().regex(identifier),
          partition_by: z.array(z.string().regex(identifier)).min(1),
        }).strict(),
      }).strict(),
    ])).default([]),
    columns: z.record(z.string().regex(identifier, 'a snake_case column name'), columnSchema).refine((c) => Object.keys(c).length > 0, 'at least one column'),
    build: z.custom<(knex: Knex, context: BuildContext) => BuildResult>((v) => typeof v === 'function', 'a function (knex, { ref }) => query'),
    /**
     * Optional rows to put in ops.quarantine when the model publishes (e.g.
     * conflicting duplicates): a query returning batch_id, row_number,
     * raw_payload, reason, field. Replaced on every build of the model, or, on an
     * incremental run of a model with `quarantineReplaces`, only those of its rows.
     */
    quarantine: z.custom<(knex: Knex, context: BuildContext) => BuildResult>((v) => typeof v === 'function').optional(),
    /**
     * Lets an incremental run check only what its new batches touch: a query returning the
     * batch_id, row_number of every source row whose quarantine verdict they can change. The
     * model's earlier quarantine rows for those rows are replaced by what `quarantine` (which
     * then receives `incremental` and should cover just those rows) returns; the rest stay.
     * Not used on a full build, nor after a batch the model took in was reverted.
     */
    quarantineReplaces: z.custom<(knex: Knex, context: BuildContext) => BuildResult>((v) => typeof v === 'function').optional(),
    /**
     * Optional reasons to refuse building the model: a query returning `reason` rows, run
     * before the build; any row fails the model with those reasons (and skips what depends on it).
     */
    /**
     * Incremental models with a uniqueKey: keys of published rows that no longer exist
     * (e.g. a user key merged into another), a query returning one column named as the
     * key; deleted in the incremental build's transaction. Not run on a full build. Receives the
     * same `delta` as build (a model with deltaFrom may need to replace every stored key without one).
     */
    staleKeys: z.custom<(knex: Knex, context: BuildContext) => BuildResult>((v) => typeof v === 'function').optional(),
    /**
     * Incremental models: a query returning one row, `rebuild` (boolean) and `reason` (text), run before an
     * incremental build. When `rebuild` holds, the model is built whole and swapped in instead, and its kept
     * changes are the diff of the published table and the new one (models updated by delta from it still are).
     * For a run that replaces every key anyway (features.user_features when the reference time moved): one
     * write of the table, where an incremental build deletes every row and inserts it again (100k users: 1.6 s).
     */
    rebuildWhen: z.custom<(knex: Knex, context: BuildContext) => BuildResult>((v) => typeof v === 'function').optional(),
    /**
     * Incremental models with a uniqueKey and no window: replace each key's rows from a point on, not
     * all of them. `keys` returns the key column, the `by` columns and `replace_from`; an incremental build
     * deletes the rows of those keys (and `by` values) whose `column` is at or after `replace_from` (all of
     * them when it is null), and the keys
     * staleKeys names, and nothing else: no key of the query's rows is deleted wholesale. Every row the
     * query returns must lie in a replaced range (checked; a build that breaks it fails). Receives the
     * same `delta` as build.
     */
    replaceFrom: z
      .object({
        column: z.string().regex(identifier),
        /** Further columns each range is for (the query returns them too): rows with other values are not replaced. */
        by: z.array(z.string().regex(identifier)).default([]),
        keys: z.custom<(knex: Knex, context: BuildContext) => BuildResult>((v) => typeof v === 'function', 'a function (knex, { ref, incremental }) => query'),
      })
      .strict()
      .optional(),
    refuse: z.custom<(knex: Knex, context: BuildContext) => BuildResult>((v) => typeof v === 'function').optional(),
  })
  .strict();

export type ModelDefinition = z.infer<typeof modelSchema>;
export type ModelInput = z.input<typeof modelSchema>;

/** Identity function that gives model files type checking and editor help. */
export function defineModel(definition: ModelInput): ModelInput {
  return definition;
}
