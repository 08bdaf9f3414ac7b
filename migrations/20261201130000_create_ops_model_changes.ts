/**
 * Delta maintenance (issue 19): a model with `keepChanges` records, in the transaction that
 * publishes it, which of its rows that publish removed and added (a side table beside it) and
 * stamps them here with the run that published and the run whose version they replace. A
 * model with `deltaFrom` records which upstream publish its own rows were computed from, so a
 * later run may update it from the upstream's changes only when they follow exactly that
 * version (src/models/model-changes.ts); anything else is a full recompute.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.withSchema('ops').createTable('model_changes', (t) => {
    t.text('model').primary().comment('model with keepChanges, e.g. marts.user_activity_periods');
    t.uuid('run_id').notNullable().comment('run that published the version whose changes the side table holds');
    t.uuid('follows_run_id').comment('run whose version those changes replaced; null: not a diff (first or full build)');
  });
  await knex.schema.withSchema('ops').createTable('model_delta_bases', (t) => {
    t.text('model').notNullable().comment('model with deltaFrom');
    t.text('upstream').notNullable().comment('one of its deltaFrom models');
    t.uuid('upstream_run_id').comment("the upstream's publish the model's rows were computed from; null: unknown (no delta next time)");
    t.text('fingerprint').notNullable().comment("hash of the model's full SQL when it published");
    t.primary(['model', 'upstream']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.withSchema('ops').dropTableIfExists('model_delta_bases');
  await knex.schema.withSchema('ops').dropTableIfExists('model_changes');
}
