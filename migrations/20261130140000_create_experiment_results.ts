/**
 * marts.experiment_results: the final statistics of experiments, written by
 * `seglayer build` / `seglayer experiments analyze` (src/experiments/
 * experiment-results-writer.ts) from marts.experiment_statistics. A table the
 * migrations own, so the Cube view over it always has a table to read, even
 * before the first analysis.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw('create schema if not exists marts');
  await knex.raw(`
    create table marts.experiment_results (
      experiment text not null, definition text not null, segment text not null, metric text not null, metric_type text not null,
      variant text not null, control_variant text not null, control_n integer not null, treatment_n integer not null,
      control_mean double precision, treatment_mean double precision,
      effect double precision, ci_lower double precision, ci_upper double precision,
      relative_effect double precision, relative_ci_lower double precision, relative_ci_upper double precision,
      p_value double precision, adjusted_p_value double precision, correction text not null, is_significant boolean,
      srm_p_value double precision, is_srm boolean, cuped_theta double precision, cuped_variance_reduction double precision,
      excluded_multiple_variants integer not null, excluded_unknown_variant integer not null, note text,
      primary key (experiment, definition, segment, metric, variant)
    )`);
  await knex.raw(`comment on table marts.experiment_results is 'Per experiment × segment × metric × treatment: effects with 95% CIs, p and adjusted p, SRM, CUPED (docs/statistics.md)'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop table if exists marts.experiment_results');
}
