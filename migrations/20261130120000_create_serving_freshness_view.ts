/**
 * serving.model_freshness: the one thing the API needs from ops. Cube's refresh keys ask
 * when the models behind a rollup last built; the API's database role reads this view and
 * nothing else of ops (a view runs with its owner's rights), so an injection through the
 * API could not read load history, quarantined raw rows or run errors.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create schema if not exists serving');
  await knex.raw(`create view serving.model_freshness as
    select model,
           max(model_run_id) as last_success_run_id,
           max(finished_at) as last_success_at
    from ops.model_runs
    where status = 'success'
    group by model`);
  await knex.raw(`comment on view serving.model_freshness is 'Last successful run per model: refresh keys of the API''s rollups'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop view if exists serving.model_freshness');
  await knex.raw('drop schema if exists serving');
}
