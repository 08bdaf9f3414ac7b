/**
 * marts.change_effects: the final statistics of every change (changes/*.yml),
 * computed in TypeScript (src/stats, through change-analysis.ts) from the
 * sufficient statistics marts.change_statistics computed in SQL, and written
 * back with bound inserts in one transaction, so readers see the old effects or
 * the new ones. A step after the build for the same reasons as
 * marts.experiment_results (experiment-results-writer.ts): the t distribution
 * lives in a JS library, and models compile without a database. It reads two
 * rows per change × metric, never a row per user.
 */
import type { Knex } from 'knex';
import { replaceTableRows } from '../database/replace-table-rows.ts';
import { analyzeChange, type ChangeEffectRow, type ChangeStatisticsRow } from './change-analysis.ts';
import type { ChangeDefinition } from './change-definition.ts';

export const EFFECTS_TABLE = 'marts.change_effects';
export const CHANGE_STATISTICS_MODEL = 'marts.change_statistics';

const CREATE_TABLE = `
    create table if not exists ${EFFECTS_TABLE} (
      change text not null, metric text not null, metric_type text not null, released_at timestamptz not null,
      pre_days integer not null, post_days integer not null,
      exposed_definition text not null, exposed_segment text not null, comparison_definition text not null, comparison_segment text not null,
      membership_basis text not null, exposed_n integer not null, comparison_n integer not null,
      exposed_pre_mean double precision, exposed_post_mean double precision, comparison_pre_mean double precision, comparison_post_mean double precision,
      exposed_change double precision, exposed_change_ci_lower double precision, exposed_change_ci_upper double precision,
      comparison_change double precision, comparison_change_ci_lower double precision, comparison_change_ci_upper double precision,
      did double precision, did_se double precision, did_ci_lower double precision, did_ci_upper double precision, did_p_value double precision,
      is_significant boolean, trend_weeks integer not null, trend_slope_difference double precision, trend_ci_lower double precision,
      trend_ci_upper double precision, trend_p_value double precision, parallel_trends text not null, note text,
      primary key (change, metric)
    )`;

export async function changeStatistics(knex: Knex, change: ChangeDefinition): Promise<ChangeStatisticsRow[]> {
  const { rows } = await knex.raw(`select * from ${CHANGE_STATISTICS_MODEL} where change = ? order by metric, "group"`, [change.name]);
  return rows as ChangeStatisticsRow[];
}

export async function analyzeChangeEffects(knex: Knex, change: ChangeDefinition): Promise<ChangeEffectRow[]> {
  return analyzeChange(change, await changeStatistics(knex, change));
}

/** Recomputes every change's effects and replaces marts.change_effects in one transaction. */
export async function writeChangeEffects(knex: Knex, changes: readonly ChangeDefinition[]): Promise<ChangeEffectRow[]> {
  const effects: ChangeEffectRow[] = [];
  for (const change of changes) effects.push(...(await analyzeChangeEffects(knex, change)));
  await replaceTableRows(knex, EFFECTS_TABLE, CREATE_TABLE, effects);
  return effects;
}

/**
 * After a build that built marts.change_statistics, write the effects (every path that
 * builds calls this through writeStatisticsAfterBuild, src/project/statistics-after-build.ts,
 * so the change_effects view never points at a missing table). Returns the rows written, or undefined when the
 * statistics were not built.
 */
export async function writeChangeEffectsAfterBuild(
  knex: Knex,
  changes: readonly ChangeDefinition[],
  summary: { results: readonly { model: string; status: string }[] },
): Promise<ChangeEffectRow[] | undefined> {
  if (!summary.results.some((r) => r.model === CHANGE_STATISTICS_MODEL && r.status === 'success')) return undefined;
  return writeChangeEffects(knex, changes);
}
