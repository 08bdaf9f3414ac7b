/**
 * marts.experiment_results: the final statistics, computed in TypeScript
 * (src/stats, through experiment-analysis.ts) from the sufficient statistics
 * the model marts.experiment_statistics computed in SQL, and written back with
 * bound inserts.
 *
 * Why not a model: models compile to SQL without a database, and the
 * distributions (Student's t, chi-square) live in a maintained JS library, not
 * in PostgreSQL. So this is a step after the build: it reads a few rows per
 * experiment × variant × segment × metric (never per user), and replaces the
 * table's rows in one transaction, so readers see the old results or the new ones.
 * `seglayer build` runs it when marts.experiment_statistics was built (so the
 * table exists after the first build; a migration cannot own it, schema marts
 * belongs to the builds);
 * `seglayer experiments analyze` runs it alone.
 */
import type { Knex } from 'knex';
import { replaceTableRows } from '../database/replace-table-rows.ts';
import type { ExperimentDefinition } from './experiment-definition.ts';
import { analyzeExperiment, type Exclusions, type ResultRow, type StatisticsRow } from './experiment-analysis.ts';

export const RESULTS_TABLE = 'marts.experiment_results';
export const STATISTICS_MODEL = 'marts.experiment_statistics';

/** The table, created by the first analysis (the build of marts.experiment_statistics has created schema marts by then). */
const CREATE_TABLE = `
    create table if not exists ${RESULTS_TABLE} (
      experiment text not null, definition text not null, segment text not null, metric text not null, metric_type text not null,
      variant text not null, control_variant text not null, control_n integer not null, treatment_n integer not null,
      control_mean double precision, treatment_mean double precision,
      effect double precision, ci_lower double precision, ci_upper double precision,
      relative_effect double precision, relative_ci_lower double precision, relative_ci_upper double precision,
      p_value double precision, adjusted_p_value double precision, correction text not null, is_significant boolean,
      srm_p_value double precision, is_srm boolean, cuped_theta double precision, cuped_variance_reduction double precision,
      excluded_multiple_variants integer not null, excluded_unknown_variant integer not null, note text,
      primary key (experiment, definition, segment, metric, variant)
    )`;

/** Users each experiment leaves out: one grouped query per experiment over the assignments. */
export async function experimentExclusions(knex: Knex, experiment: ExperimentDefinition): Promise<Exclusions> {
  const { rows } = await knex.raw(
    `select count(*) filter (where variant_count > 1)::int as multiple_variants,
            count(*) filter (where variant_count = 1 and not (variant = any(?::text[])))::int as unknown_variant
     from core.fct_experiment_assignments where experiment = ?`,
    [experiment.variants.map((v) => v.name), experiment.name],
  );
  return rows[0] as Exclusions;
}

/** The sufficient statistics of one experiment, as the model published them. */
export async function experimentStatistics(knex: Knex, experiment: ExperimentDefinition): Promise<StatisticsRow[]> {
  const { rows } = await knex.raw(`select * from ${STATISTICS_MODEL} where experiment = ? order by definition, segment, metric, variant`, [experiment.name]);
  return rows as StatisticsRow[];
}

export async function analyze(knex: Knex, experiment: ExperimentDefinition): Promise<ResultRow[]> {
  return analyzeExperiment(experiment, await experimentStatistics(knex, experiment), await experimentExclusions(knex, experiment));
}

/** Recomputes every experiment's results and replaces marts.experiment_results in one transaction. */
export async function writeExperimentResults(knex: Knex, experiments: readonly ExperimentDefinition[]): Promise<ResultRow[]> {
  const results: ResultRow[] = [];
  for (const experiment of experiments) results.push(...(await analyze(knex, experiment)));
  await replaceTableRows(knex, RESULTS_TABLE, CREATE_TABLE, results);
  return results;
}

/**
 * After a build: when it built the experiments' sufficient statistics, write the final
 * results from them (every path that builds calls this through writeStatisticsAfterBuild,
 * src/project/statistics-after-build.ts, so the experiment_results view never points at a missing table). Returns the rows
 * written, or undefined when the statistics were not built.
 */
export async function writeExperimentResultsAfterBuild(
  knex: Knex,
  experiments: readonly ExperimentDefinition[],
  summary: { results: readonly { model: string; status: string }[] },
): Promise<ResultRow[] | undefined> {
  if (!summary.results.some((r) => r.model === STATISTICS_MODEL && r.status === 'success')) return undefined;
  return writeExperimentResults(knex, experiments);
}
