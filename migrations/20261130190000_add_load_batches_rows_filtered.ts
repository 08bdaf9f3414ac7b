/**
 * Row filters (`--where status=paid`) leave rows out of a load on purpose: a batch
 * now balances as rows in = loaded + quarantined + filtered, so a filtered row is
 * counted rather than lost.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.load_batches add column rows_filtered bigint not null default 0`);
  await knex.raw(`comment on column ops.load_batches.rows_filtered is 'rows a row filter (where) left out of the load'`);
  await knex.raw(`alter table ops.load_batches drop constraint load_batches_rows_balance`);
  await knex.raw(`alter table ops.load_batches add constraint load_batches_rows_balance
    check (status <> 'loaded' or rows_in = rows_loaded + rows_quarantined + rows_filtered)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.load_batches drop constraint load_batches_rows_balance`);
  await knex.raw(`update ops.load_batches set rows_in = rows_in - rows_filtered`);
  await knex.raw(`alter table ops.load_batches add constraint load_batches_rows_balance
    check (status <> 'loaded' or rows_in = rows_loaded + rows_quarantined)`);
  await knex.raw(`alter table ops.load_batches drop column rows_filtered`);
}
