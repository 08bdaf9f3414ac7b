/** The readable report of one change: per metric, n, before and after per group, the DiD with its CI and p, and the parallel-trends verdict. */
import { bold, dim, red, table, yellow } from '../terminal/terminal-output.ts';
import type { ChangeEffectRow } from './change-analysis.ts';
import { type ChangeDefinition, EVERYONE_ELSE } from './change-definition.ts';

type MetricType = ChangeEffectRow['metric_type'];
const value = (x: number | null, type: MetricType) => (x === null ? '-' : type === 'binomial' ? `${(100 * x).toFixed(2)}%` : x.toFixed(4));
const signed = (x: number, type: MetricType) => (type === 'binomial' ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)} pts` : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`);
const bound = (x: number, type: MetricType) => (type === 'binomial' ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)}` : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`);
const withCi = (x: number | null, lower: number | null, upper: number | null, type: MetricType) =>
  x === null || lower === null || upper === null ? '-' : `${signed(x, type)} [${bound(lower, type)}, ${bound(upper, type)}]`;
const p = (x: number | null) => (x === null ? '-' : x < 0.0001 ? '<0.0001' : x.toFixed(4));
const group = (g: { definition: string; segment: string }) => (g.definition === g.segment ? g.segment : `${g.definition} / ${g.segment}`);

const BASIS: Record<string, string> = {
  as_of_release: 'membership as of the release (segments.membership_history)',
  current: 'membership as of this build (the history does not reach back to the release)',
  mixed: 'membership: see the note',
};

export function formatChangeReport(change: ChangeDefinition, effects: readonly ChangeEffectRow[]): string {
  const first = effects[0];
  const comparison = change.comparison === EVERYONE_ELSE ? 'everyone else' : group(change.comparison);
  const lines = [`${bold(change.name)}: ${change.title} ${dim(change.file)}`, `  ${change.description}`];
  lines.push(`  released ${change.released_at.replace('T', ' ').replace(/:00\.000Z$/, ' UTC')}; ${change.pre_days} days before, ${change.post_days} after`);
  if (first) {
    lines.push(`  exposed ${group(change.exposed)} (n ${first.exposed_n}) vs ${comparison} (n ${first.comparison_n}): users first seen before the pre window; ${BASIS[first.membership_basis] ?? first.membership_basis}`);
  }
  lines.push(`  ${Math.round(100 * (1 - change.alpha))}% CIs; DiD = (exposed after − before) − (comparison after − before); parallel trends: weekly pre-period slopes, exposed − comparison`);
  lines.push(
    '',
    table([
      ['metric', 'exposed before', 'after', 'comparison before', 'after', 'exposed change', 'comparison change', 'DiD [95% CI]', 'p', 'pre-trend slope diff.', 'parallel trends', ''],
      ...effects.map((r) => [
        r.metric, value(r.exposed_pre_mean, r.metric_type), value(r.exposed_post_mean, r.metric_type),
        value(r.comparison_pre_mean, r.metric_type), value(r.comparison_post_mean, r.metric_type),
        withCi(r.exposed_change, r.exposed_change_ci_lower, r.exposed_change_ci_upper, r.metric_type),
        withCi(r.comparison_change, r.comparison_change_ci_lower, r.comparison_change_ci_upper, r.metric_type),
        withCi(r.did, r.did_ci_lower, r.did_ci_upper, r.metric_type), p(r.did_p_value),
        withCi(r.trend_slope_difference, r.trend_ci_lower, r.trend_ci_upper, r.metric_type),
        r.parallel_trends === 'violated' ? red('violated') : r.parallel_trends === 'holds' ? 'holds' : dim('not tested'),
        r.note ? yellow(r.note) : r.is_significant ? bold('significant') : '',
      ]),
    ]).replace(/^/gm, '  '),
  );
  return lines.join('\n');
}
