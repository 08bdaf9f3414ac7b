/**
 * Incremental and append builds test only the rows they add when the published
 * table already passed the same declared tests: each model run records a
 * fingerprint of the tests it ran, so a changed or new test is judged once over
 * the whole table before the runner trusts the old rows again.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.model_runs add column tests_fingerprint text`);
  await knex.raw(`comment on column ops.model_runs.tests_fingerprint is 'hash of the model''s declared tests this run judged the published rows with'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`alter table ops.model_runs drop column tests_fingerprint`);
}
