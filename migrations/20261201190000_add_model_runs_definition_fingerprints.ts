/**
 * What a model run's rows were computed with: its own SQL's fingerprint and those of the
 * reference models upstream as they were published (src/models/definition-changes.ts), so a
 * changed seed, setting or model SQL rebuilds the incremental models it makes stale.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.model_runs add column definition_fingerprints jsonb`);
  await knex.raw(`comment on column ops.model_runs.definition_fingerprints is 'model -> fingerprint of its SQL: this model''s own and each reference model''s upstream as published, for a successful run'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.model_runs drop column definition_fingerprints`);
}
