/**
 * Whether a successful model run computed the whole model or only what new batches touch, so the
 * scheduler can expect an incremental build to take what the model's last incremental build took,
 * not what its last full one did (src/models/model-runner.ts, lastBuildSeconds).
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.model_runs add column built_in_full boolean`);
  await knex.raw(`comment on column ops.model_runs.built_in_full is 'for a successful run: false when an incremental or append model added to its published rows, true when the model was computed whole'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.model_runs drop column built_in_full`);
}
