/**
 * One interface for every way a model is published (view, table, incremental,
 * append). A new kind (snapshots, partitioned tables) is a new module
 * implementing `Materialization`, registered in ../materializer.ts.
 */
import type { Knex } from 'knex';
import type { TestOutcome } from '../column-tests.ts';
import type { Model } from '../model-discovery.ts';

export type { TestOutcome };

export interface MaterializeRequest {
  /** The build's connection pool; a materialization opens its own transactions. */
  db: Knex;
  model: Model;
  /** The model's compiled SELECT. */
  sql: string;
  /** Rows to put in ops.quarantine when the model publishes (replacing the model's previous ones). */
  quarantineSql?: string;
  /** batch_id, row_number of the source rows whose quarantine rows quarantineSql replaces; unset: all of the model's. */
  quarantineReplacesSql?: string;
  /**
   * Incremental models on an incremental run (unset means a full build): the query's
   * rows replace the window (windowColumn >= since), the published rows with the same
   * uniqueKey, and the keys `staleKeysSql` returns; with `replaceFromSql` (key, from), instead of the
   * query's keys, those keys' rows from `from` on (the model's replaceFrom).
   */
  incremental?: { since?: Date; staleKeysSql?: string; replaceFromSql?: string };
  /** Append models: the table exists, so the query's rows are added to it; unset means a first build. */
  appendToExisting?: boolean;
  /**
   * Incremental and append runs: the tests judge only the rows this build adds (their keys
   * against the whole table for unique tests), because the published rows passed the same
   * declared tests. Unset: the whole table is tested.
   */
  testIncrementOnly?: boolean;
  /**
   * Views over raw tables only: the SQL, the declared tests and the source batches are what they
   * were when the tests last passed (../unchanged-view.ts), so the rows are too and the tests are
   * not run again; the declared columns are still checked.
   */
  unchangedSincePassed?: boolean;
  /** Views whose tests are implied by upstream models' (testsImpliedBy): not run; the declared columns are still checked. */
  testsImpliedBy?: string[];
  /**
   * Models with keepChanges: the publishing transaction keeps the rows it removed and added,
   * stamped with this run (../model-changes.ts).
   */
  keepChanges?: { runId: string; /** An incremental model built whole by its rebuildWhen: keep the diff, as a table does. */ diffWhole?: boolean };
  /**
   * A table built whole that replaces the published one row for row (an incremental model's rebuildWhen): it takes
   * the published table's planner statistics instead of analyzing (statistics.ts).
   */
  carryStatistics?: boolean;
  /**
   * Runs inside the transaction that publishes the model's rows (the swap, the
   * delete+insert, the append), e.g. to record the load batches the new
   * version took in: it commits if and only if the rows do.
   */
  onPublish?: (trx: Knex.Transaction) => Promise<void>;
}

export interface Materialized {
  /** Rows in the published table; null for views. */
  rows: number | null;
  tests: TestOutcome[];
  /** What was done: created, replaced, swapped, incremental: n rows since ..., appended n rows. */
  action: string;
  /** Where the time went: the model's own SQL against what publishing it adds. */
  phases: ModelPhases;
}

/** Seconds of one materialization, by step (the runner adds its own bookkeeping as the rest). */
export interface ModelPhases {
  /** The model's query: the temporary table, view or delta, with its indexes and statistics. */
  query: number;
  /** Incremental and append builds: the delete of what is rebuilt and the insert. */
  write: number;
  /** The column contract and the data tests. */
  tests: number;
  /** The publishing transaction: swap (views, grants), quarantine, batches taken in, row count, commit. */
  publish: number;
}

/** Times the steps of one materialization. */
export class PhaseTimer {
  readonly phases: ModelPhases = { query: 0, write: 0, tests: 0, publish: 0 };
  async time<T>(phase: keyof ModelPhases, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.phases[phase] += (performance.now() - started) / 1000;
    }
  }
}

export interface Materialization {
  materialize(request: MaterializeRequest): Promise<Materialized>;
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
