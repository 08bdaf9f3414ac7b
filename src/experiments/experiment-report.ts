/** The readable report of one experiment: a table per segment, numbers people act on with n and a 95% CI. */
import { bold, dim, red, table, yellow } from '../terminal/terminal-output.ts';
import type { ExperimentDefinition } from './experiment-definition.ts';
import type { ResultRow } from './experiment-analysis.ts';

const value = (x: number | null, type: ResultRow['metric_type']) => (x === null ? '-' : type === 'binomial' ? `${(100 * x).toFixed(2)}%` : x.toFixed(4));
const signed = (x: number, type: ResultRow['metric_type']) => (type === 'binomial' ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(2)} pts` : `${x >= 0 ? '+' : ''}${x.toFixed(4)}`);
const p = (x: number | null) => (x === null ? '-' : x < 0.0001 ? '<0.0001' : x.toFixed(4));

export function formatExperimentReport(experiment: ExperimentDefinition, results: readonly ResultRow[]): string {
  const lines = [`${bold(experiment.name)}: ${experiment.title} ${dim(experiment.file)}`, `  hypothesis: ${experiment.hypothesis}`];
  const first = results[0];
  if (first) {
    lines.push(`  excluded: ${first.excluded_multiple_variants} user(s) assigned more than one variant, ${first.excluded_unknown_variant} assigned an unlisted variant`);
  }
  lines.push(`  window ${experiment.window_days} days after first exposure; ${Math.round(100 * (1 - experiment.alpha))}% CIs; p adjusted by ${experiment.correction === 'bh' ? 'Benjamini–Hochberg' : 'Holm'} across segments × metrics`);
  const segments = [...new Set(results.map((r) => `${r.definition}\u0000${r.segment}`))];
  for (const key of segments) {
    const rows = results.filter((r) => `${r.definition}\u0000${r.segment}` === key);
    const head = rows[0]!;
    const srm = head.is_srm === null ? '' : head.is_srm ? red(`SRM p=${p(head.srm_p_value)} — do not trust these results`) : `no SRM (p=${p(head.srm_p_value)})`;
    lines.push('', `${bold(head.segment === head.definition ? head.segment : `${head.definition} / ${head.segment}`)}  ${srm}`);
    lines.push(
      table([
        ['metric', 'variant', 'n control', 'n treat.', 'control', 'treatment', 'effect [95% CI]', 'relative', 'p', 'adj. p', 'CUPED var. red.', ''],
        ...rows.map((r) => [
          r.metric, r.variant, r.control_n, r.treatment_n, value(r.control_mean, r.metric_type), value(r.treatment_mean, r.metric_type),
          r.effect === null ? '-' : `${signed(r.effect, r.metric_type)} [${signed(r.ci_lower!, r.metric_type)}, ${signed(r.ci_upper!, r.metric_type)}]`,
          r.relative_effect === null ? '-' : `${(100 * r.relative_effect).toFixed(1)}% [${(100 * r.relative_ci_lower!).toFixed(1)}, ${(100 * r.relative_ci_upper!).toFixed(1)}]`,
          p(r.p_value), p(r.adjusted_p_value),
          r.cuped_variance_reduction === null ? '-' : `${(100 * r.cuped_variance_reduction).toFixed(1)}%`,
          r.note ? yellow(r.note) : r.is_significant ? bold('significant') : '',
        ]),
      ]).replace(/^/gm, '  '),
    );
  }
  return lines.join('\n');
}
