/**
 * ops: the warehouse's own bookkeeping. Load batches, quarantined rows, model
 * runs and test results are history that must survive any rebuild of models.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create schema if not exists ops');

  await knex.schema.withSchema('ops').createTable('load_batches', (t) => {
    t.bigIncrements('batch_id').primary();
    t.text('source').notNullable().comment('file path or generator that produced the batch');
    t.text('format').notNullable().comment('csv | ndjson | segment');
    t.specificType('target_tables', 'text[]').notNullable();
    t.text('status').notNullable().comment('loaded | failed');
    t.bigInteger('rows_in').notNullable().defaultTo(0);
    t.bigInteger('rows_loaded').notNullable().defaultTo(0);
    t.bigInteger('rows_quarantined').notNullable().defaultTo(0);
    t.bigInteger('bytes_read');
    t.jsonb('options').notNullable().defaultTo('{}').comment('column mapping, constants, time zone');
    t.text('error');
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
  });
  await knex.raw(`alter table ops.load_batches add constraint load_batches_rows_balance
    check (status <> 'loaded' or rows_in = rows_loaded + rows_quarantined)`);
  await knex.raw(`alter table ops.load_batches add constraint load_batches_status check (status in ('loaded', 'failed'))`);

  await knex.schema.withSchema('ops').createTable('quarantine', (t) => {
    t.bigIncrements('quarantine_id').primary();
    t.text('source').notNullable().comment('file, or model, that produced the row');
    t.bigInteger('batch_id').references('batch_id').inTable('ops.load_batches').onDelete('cascade');
    t.text('target_table').notNullable();
    t.bigInteger('row_number').comment('1-based data row in the source (header excluded)');
    t.bigInteger('line_number').comment('1-based physical line in the source file');
    t.text('raw_payload').notNullable();
    t.text('reason').notNullable();
    t.text('field').comment('column or property at fault, when one is');
    t.timestamp('quarantined_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['batch_id']);
  });

  await knex.schema.withSchema('ops').createTable('model_runs', (t) => {
    t.bigIncrements('model_run_id').primary();
    t.uuid('run_id').notNullable().comment('one build invocation');
    t.text('model').notNullable();
    t.text('status').notNullable().comment('success | error | skipped');
    t.bigInteger('rows');
    t.bigInteger('batch_watermark').comment('highest loaded ops.load_batches id when the run started: incremental models take later batches as new');
    t.text('error');
    t.timestamp('started_at', { useTz: true }).notNullable();
    t.timestamp('finished_at', { useTz: true });
    t.index(['model', 'started_at']);
  });

  await knex.schema.withSchema('ops').createTable('test_results', (t) => {
    t.bigIncrements('test_result_id').primary();
    t.uuid('run_id').notNullable();
    t.text('model').notNullable();
    t.text('test').notNullable().comment('e.g. unique(user_id)');
    t.text('column_name');
    t.text('status').notNullable().comment('pass | fail | error');
    t.bigInteger('failures').notNullable().defaultTo(0);
    t.text('message');
    t.timestamp('tested_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['run_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  // The schema itself stays: Knex keeps its migration bookkeeping there.
  for (const table of ['test_results', 'model_runs', 'quarantine', 'load_batches']) {
    await knex.schema.withSchema('ops').dropTableIfExists(table);
  }
}
