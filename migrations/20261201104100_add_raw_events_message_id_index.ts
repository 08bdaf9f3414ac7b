/**
 * raw.events by message_id: on an incremental build staging.stg_events re-decides the
 * duplicate-conflict quarantine for every copy of the message ids the new batches bring,
 * and finding those copies was a scan of all raw events, twice per build (the rows the
 * check replaces, then the check itself: 1.1 + 1.9 s at 1.2M events after +1% events on a
 * busy machine, 0.3 + 0.4 s through this index). The loader maintains it on every COPY;
 * the loader bench measured what that costs (docs/architecture.md).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create index if not exists events_message_id_index on raw.events (message_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists raw.events_message_id_index');
}
