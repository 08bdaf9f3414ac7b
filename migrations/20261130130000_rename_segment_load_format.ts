/**
 * The load format of Segment/RudderStack exports is now called `tracking-calls`:
 * "segment" is kept for user segments. Renames the format of past batches, and
 * the label their quarantined rows carry as target table (such a load writes
 * several tables), so history reads with one name.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`update ops.load_batches set format = 'tracking-calls' where format = 'segment'`);
  await knex.raw(`update ops.quarantine set target_table = 'tracking-calls' where target_table = 'segment'`);
  await knex.raw(`comment on column ops.load_batches.format is 'csv | ndjson | tracking-calls'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`update ops.load_batches set format = 'segment' where format = 'tracking-calls'`);
  await knex.raw(`update ops.quarantine set target_table = 'segment' where target_table = 'tracking-calls'`);
  await knex.raw(`comment on column ops.load_batches.format is 'csv | ndjson | segment'`);
}
