/**
 * A view reading raw tables only is a function of its SQL and of the batches loaded into
 * those tables: when neither has changed since a run that passed its tests, its rows are
 * the ones those tests judged, and running them again (a full run of the view's query:
 * 0.1-0.5 s per staging view at 20k users) would only repeat the verdict. The runner then
 * skips them, and records the batches the view has seen (ops.model_batches), as it does for
 * incremental models. `seglayer test` and --full-refresh always run them.
 */
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { Model } from './model-discovery.ts';
import { testsFingerprint } from './tests-fingerprint.ts';

/** Views whose every source is a raw table: the only ones whose rows follow from batches alone. */
export function readsRawOnly(model: Model, refs: string[]): boolean {
  return model.materialized === 'view' && refs.length > 0 && refs.every((name) => name.startsWith('raw.'));
}

/** The declared tests and the compiled SQL (settings such as the order types are in it). */
export function viewFingerprint(model: Model, sql: string): string {
  return createHash('sha256').update(`${testsFingerprint(model)}\n${sql}`).digest('hex').slice(0, 32);
}

/**
 * No batch of this run's `batches` that the view has not seen was loaded into one of its
 * raw sources, and no batch it has seen was reverted since (its rows left raw).
 */
export async function sourcesUnchanged(knex: Knex, model: string, sources: string[], batches: number[]): Promise<boolean> {
  const { rows } = await knex.raw(
    `select not exists (
       select 1 from ops.load_batches b
       where b.batch_id = any(?::bigint[]) and b.target_tables && ?::text[]
         and not exists (select 1 from ops.model_batches m where m.model = ? and m.batch_id = b.batch_id)
     ) and not exists (
       select 1 from ops.load_batches b join ops.model_batches m on m.batch_id = b.batch_id and m.model = ? where b.status = 'reverted'
     ) as unchanged`,
    [batches, sources, model, model],
  );
  return rows[0].unchanged;
}
