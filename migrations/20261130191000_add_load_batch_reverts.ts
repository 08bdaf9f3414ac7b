/**
 * A load can be undone: `seglayer batches revert N` deletes the batch's raw rows and
 * marks it `reverted`, keeping the row (and its quarantine) as the record of what was
 * loaded, when it was undone and why. reverted_window holds, per raw table, the earliest
 * value of each timestamp column among the removed rows, so an incremental model that
 * took the batch in knows how far back to rebuild once the rows are gone.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.load_batches drop constraint load_batches_status`);
  await knex.raw(`alter table ops.load_batches add constraint load_batches_status check (status in ('loaded', 'failed', 'reverted'))`);
  await knex.raw(`comment on column ops.load_batches.status is 'loaded | failed | reverted'`);
  await knex.raw(`alter table ops.load_batches
    add column reverted_at timestamptz,
    add column revert_reason text,
    add column rows_reverted jsonb,
    add column reverted_window jsonb`);
  await knex.raw(`comment on column ops.load_batches.revert_reason is 'why the batch was reverted (seglayer batches revert --reason)'`);
  await knex.raw(`comment on column ops.load_batches.rows_reverted is 'rows deleted per raw table by the revert'`);
  await knex.raw(`comment on column ops.load_batches.reverted_window is 'per raw table, the earliest value of each timestamp column among the deleted rows'`);
  await knex.raw(`alter table ops.load_batches add constraint load_batches_revert_recorded
    check (status <> 'reverted' or (reverted_at is not null and revert_reason is not null))`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.load_batches drop constraint load_batches_revert_recorded`);
  await knex.raw(`delete from ops.load_batches where status = 'reverted'`);
  await knex.raw(`alter table ops.load_batches drop column reverted_at, drop column revert_reason, drop column rows_reverted, drop column reverted_window`);
  await knex.raw(`alter table ops.load_batches drop constraint load_batches_status`);
  await knex.raw(`alter table ops.load_batches add constraint load_batches_status check (status in ('loaded', 'failed'))`);
}
