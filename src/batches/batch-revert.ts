/**
 * Undoing a load: one transaction deletes the batch's rows from every raw table it
 * wrote, marks the batch `reverted` with the reason, and records per table the earliest
 * value of each timestamp column among the deleted rows (reverted_window). Table models
 * and views drop the rows on the next build by rebuilding; incremental models that took
 * the batch in rebuild from that earliest time (model-runner.ts, incrementalSince).
 * Append models keep history by design and are not rewritten.
 */
import type { Knex } from 'knex';
import { TABLE_CONTRACTS } from '../load/table-contracts.ts';
import { UserError } from '../errors/user-error.js';

export class BatchError extends UserError {}

export interface RevertReport {
  batchId: number;
  /** Rows deleted per raw table. */
  rows: Record<string, number>;
  /** Per raw table, the earliest value of each timestamp column among the deleted rows. */
  window: Record<string, Record<string, string | null>>;
}

export async function revertBatch(knex: Knex, batchId: number, reason: string): Promise<RevertReport> {
  if (!reason.trim()) throw new BatchError('a revert needs a reason (--reason "…"): it is recorded with the batch');
  return knex.transaction(async (trx) => {
    // The row lock makes two reverts of one batch wait for each other; the second sees `reverted`.
    const batch = await trx('ops.load_batches').where({ batch_id: batchId }).forUpdate().first('status', 'target_tables');
    if (!batch) throw new BatchError(`no batch ${batchId} (see seglayer batches ls)`);
    if (batch.status !== 'loaded') throw new BatchError(`batch ${batchId} is ${batch.status}: only a loaded batch can be reverted`);
    const rows: Record<string, number> = {};
    const window: RevertReport['window'] = {};
    for (const table of batch.target_tables as string[]) {
      // Table names come from ops, so they meet the allowlist before they meet SQL.
      const contract = TABLE_CONTRACTS[table];
      if (!contract) throw new BatchError(`batch ${batchId} names ${table}, which is no raw table seglayer loads`);
      const timestamps = contract.columns.filter((c) => c.type === 'timestamptz').map((c) => c.name);
      const mins = timestamps.map((column) => trx.raw('min(??) as ??', [column, column]));
      const { rows: deleted } = await trx.raw(
        `with gone as (delete from ?? where load_batch_id = ? returning *)
         select count(*)::int as n${mins.length ? ', ' : ''}${mins.map(() => '?').join(', ')} from gone`,
        [table, batchId, ...mins],
      );
      const { n, ...earliest } = deleted[0] as { n: number } & Record<string, Date | null>;
      rows[table] = n;
      window[table] = Object.fromEntries(Object.entries(earliest).map(([column, value]) => [column, value ? value.toISOString() : null]));
    }
    await trx('ops.load_batches').where({ batch_id: batchId }).update({
      status: 'reverted',
      reverted_at: trx.fn.now(),
      revert_reason: reason,
      rows_reverted: JSON.stringify(rows),
      reverted_window: JSON.stringify(window),
    });
    return { batchId, rows, window };
  });
}
