/**
 * Replaces every row of a table written from TypeScript (marts.experiment_results,
 * marts.change_effects) in one transaction, creating it first if needed, so readers see the
 * old rows or the new ones. Non-finite numbers (an open one-sided bound) are stored as null:
 * these tables hold two-sided results, and null reads as "no bound" everywhere they are served.
 */
import type { Knex } from 'knex';

export async function replaceTableRows(knex: Knex, table: string, createTable: string, rows: readonly object[]): Promise<void> {
  await knex.transaction(async (trx) => {
    await trx.raw(createTable);
    await trx.raw(`delete from ${table}`);
    const clean = rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? null : v])));
    if (clean.length > 0) await trx.batchInsert(table, clean, 500);
  });
}
