/**
 * ops.model_batches: which load batches each incremental model has taken in.
 * Batch ids are handed out when a load starts but become visible when it
 * commits, so a high-water mark skips a batch that commits after a later one;
 * a model instead rebuilds from every committed batch it has not consumed, and
 * records them in the same transaction that publishes its rows.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.withSchema('ops').createTable('model_batches', (t) => {
    t.text('model').notNullable().comment('incremental model, e.g. staging.stg_events');
    t.bigInteger('batch_id').notNullable().references('batch_id').inTable('ops.load_batches').onDelete('cascade');
    t.timestamp('consumed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['model', 'batch_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.withSchema('ops').dropTableIfExists('model_batches');
}
