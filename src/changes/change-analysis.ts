/**
 * Final statistics of a change that was not randomised, from its sufficient
 * statistics (marts.change_statistics): per metric, the mean before and after
 * in each group, each group's change with its 95% interval, the
 * difference-in-differences with se, interval and p, and the parallel-trends
 * check on the pre-period (difference of weekly slopes, with its interval and a
 * verdict). Pure: rows in, rows out; formulas in docs/statistics.md.
 */
import {
  changeStatistics,
  type Comparison,
  differenceInDifferences,
  meanInterval,
  type PanelStatistics,
  parallelTrendsBySlope,
  StatisticsError,
} from '../stats/index.ts';
import { UserError } from '../errors/user-error.js';
import type { ChangeDefinition, ChangeMetric } from './change-definition.ts';

/** A row of marts.change_statistics. */
export interface ChangeStatisticsRow {
  group: 'exposed' | 'comparison';
  definition: string;
  segment: string;
  membership_basis: 'as_of_release' | 'current';
  metric: string;
  n: number;
  pre_sum: number;
  pre_sum_squares: number;
  post_sum: number;
  post_sum_squares: number;
  post_pre_sum_of_products: number;
  trend_weeks: number;
  slope_sum: number;
  slope_sum_squares: number;
}

export type ParallelTrendsVerdict = 'holds' | 'violated' | 'not_tested';

/** A row of marts.change_effects. */
export interface ChangeEffectRow {
  change: string;
  metric: string;
  metric_type: ChangeMetric['type'];
  released_at: string;
  pre_days: number;
  post_days: number;
  exposed_definition: string;
  exposed_segment: string;
  comparison_definition: string;
  comparison_segment: string;
  /** as_of_release, current, or mixed (each group's basis in the note). */
  membership_basis: string;
  exposed_n: number;
  comparison_n: number;
  exposed_pre_mean: number | null;
  exposed_post_mean: number | null;
  comparison_pre_mean: number | null;
  comparison_post_mean: number | null;
  exposed_change: number | null;
  exposed_change_ci_lower: number | null;
  exposed_change_ci_upper: number | null;
  comparison_change: number | null;
  comparison_change_ci_lower: number | null;
  comparison_change_ci_upper: number | null;
  did: number | null;
  did_se: number | null;
  did_ci_lower: number | null;
  did_ci_upper: number | null;
  did_p_value: number | null;
  is_significant: boolean | null;
  trend_weeks: number;
  trend_slope_difference: number | null;
  trend_ci_lower: number | null;
  trend_ci_upper: number | null;
  trend_p_value: number | null;
  parallel_trends: ParallelTrendsVerdict;
  note: string | null;
}

const panelOf = (row: ChangeStatisticsRow): PanelStatistics => ({
  n: row.n,
  pre: { sum: row.pre_sum, sum_squares: row.pre_sum_squares },
  post: { sum: row.post_sum, sum_squares: row.post_sum_squares },
  post_pre_sum_of_products: row.post_pre_sum_of_products,
});

/** "not enough data" for groups below the 2 users a variance needs; else the statistics module's own reason. */
function reason(error: unknown, exposed: ChangeStatisticsRow, comparison: ChangeStatisticsRow): string {
  if (!(error instanceof StatisticsError)) throw error;
  const small = [exposed, comparison].filter((g) => g.n < 2).map((g) => `${g.group} n=${g.n}`);
  if (small.length > 0) return `not enough data: ${small.join(', ')} (needs at least 2 users per group)`;
  return `not enough data: ${error.issues[0]?.message ?? error.message}`;
}

function analyzeMetric(change: ChangeDefinition, metric: ChangeMetric, exposed: ChangeStatisticsRow, comparison: ChangeStatisticsRow): ChangeEffectRow {
  const notes: string[] = [];
  const basis = exposed.membership_basis === comparison.membership_basis ? exposed.membership_basis : 'mixed';
  if (basis === 'mixed') notes.push(`membership: exposed ${exposed.membership_basis}, comparison ${comparison.membership_basis}`);
  const row: ChangeEffectRow = {
    change: change.name, metric: metric.name, metric_type: metric.type, released_at: change.released_at, pre_days: change.pre_days, post_days: change.post_days,
    exposed_definition: exposed.definition, exposed_segment: exposed.segment, comparison_definition: comparison.definition, comparison_segment: comparison.segment,
    membership_basis: basis, exposed_n: exposed.n, comparison_n: comparison.n,
    exposed_pre_mean: null, exposed_post_mean: null, comparison_pre_mean: null, comparison_post_mean: null,
    exposed_change: null, exposed_change_ci_lower: null, exposed_change_ci_upper: null,
    comparison_change: null, comparison_change_ci_lower: null, comparison_change_ci_upper: null,
    did: null, did_se: null, did_ci_lower: null, did_ci_upper: null, did_p_value: null, is_significant: null,
    trend_weeks: exposed.trend_weeks, trend_slope_difference: null, trend_ci_lower: null, trend_ci_upper: null, trend_p_value: null,
    parallel_trends: 'not_tested', note: null,
  };
  const mean = (sum: number, n: number) => (n > 0 ? sum / n : null);
  row.exposed_pre_mean = mean(exposed.pre_sum, exposed.n);
  row.exposed_post_mean = mean(exposed.post_sum, exposed.n);
  row.comparison_pre_mean = mean(comparison.pre_sum, comparison.n);
  row.comparison_post_mean = mean(comparison.post_sum, comparison.n);
  try {
    const e = meanInterval(changeStatistics(panelOf(exposed)), change.alpha);
    const c = meanInterval(changeStatistics(panelOf(comparison)), change.alpha);
    Object.assign(row, {
      exposed_change: e.estimate, exposed_change_ci_lower: e.ci_lower, exposed_change_ci_upper: e.ci_upper,
      comparison_change: c.estimate, comparison_change_ci_lower: c.ci_lower, comparison_change_ci_upper: c.ci_upper,
    });
    const { did } = differenceInDifferences(panelOf(exposed), panelOf(comparison), change.alpha);
    Object.assign(row, { did: did.effect, did_se: did.se, did_ci_lower: did.ci_lower, did_ci_upper: did.ci_upper, did_p_value: did.p_value, is_significant: did.p_value < change.alpha });
  } catch (error) {
    notes.push(reason(error, exposed, comparison));
  }
  try {
    const slopes = (g: ChangeStatisticsRow) => ({ n: g.n, sum: g.slope_sum, sum_squares: g.slope_sum_squares });
    const trend: Comparison = parallelTrendsBySlope(slopes(exposed), slopes(comparison), change.alpha).slope_difference;
    Object.assign(row, {
      trend_slope_difference: trend.effect, trend_ci_lower: trend.ci_lower, trend_ci_upper: trend.ci_upper, trend_p_value: trend.p_value,
      parallel_trends: trend.p_value >= change.alpha ? 'holds' : 'violated',
    });
    if (row.parallel_trends === 'violated') notes.push('pre-period trends differ: the DiD is not a credible effect');
  } catch (error) {
    const why = reason(error, exposed, comparison);
    if (!notes.includes(why)) notes.push(`parallel trends not tested: ${why}`);
  }
  row.note = notes.length > 0 ? notes.join('; ') : null;
  return row;
}

export function analyzeChange(change: ChangeDefinition, rows: readonly ChangeStatisticsRow[]): ChangeEffectRow[] {
  return change.metrics.map((metric) => {
    const find = (group: ChangeStatisticsRow['group']) => {
      const found = rows.find((r) => r.metric === metric.name && r.group === group);
      if (!found) throw new UserError(`marts.change_statistics has no ${group} row for ${change.name}.${metric.name} (changes/ edited since the build): run \`npm run seglayer -- build +marts.change_statistics\``);
      return found;
    };
    return analyzeMetric(change, metric, find('exposed'), find('comparison'));
  });
}
