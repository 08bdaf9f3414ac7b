/**
 * Final statistics of an experiment from its sufficient statistics: per
 * segment × metric × treatment variant, the absolute and relative effect
 * against control with 95% intervals (Welch; delta method for relative and
 * ratio metrics; CUPED with a pooled θ where the metric asks for it), the
 * p-value, the p-value adjusted across the experiment's segments × metrics ×
 * variants (BH or Holm, in input order), and the SRM check of the segment's
 * users per variant. Pure: rows in, rows out; formulas in docs/statistics.md.
 */
import {
  benjaminiHochberg,
  type Comparison,
  compare,
  compareCuped,
  type CupedStatistics,
  holm,
  sampleRatioMismatch,
  StatisticsError,
  summarizeBinomial,
  summarizeMean,
  summarizeRatio,
  type UnitSummary,
} from '../stats/index.ts';
import type { ExperimentDefinition, ExperimentMetric } from './experiment-definition.ts';

/** A row of marts.experiment_statistics. */
export interface StatisticsRow {
  variant: string;
  definition: string;
  segment: string;
  metric: string;
  n: number;
  sum: number;
  sum_squares: number;
  pre_sum: number | null;
  pre_sum_squares: number | null;
  post_pre_sum_of_products: number | null;
  d_sum: number | null;
  d_sum_squares: number | null;
  m_d_sum_of_products: number | null;
}

/** Users left out of the analysis, for the whole experiment. */
export interface Exclusions {
  /** Assigned more than one variant (under one identity or across the identities stitched into one user). */
  multiple_variants: number;
  /** First assignment to a variant the definition does not list. */
  unknown_variant: number;
}

/** A row of marts.experiment_results. */
export interface ResultRow {
  experiment: string;
  definition: string;
  segment: string;
  metric: string;
  metric_type: ExperimentMetric['type'];
  variant: string;
  control_variant: string;
  control_n: number;
  treatment_n: number;
  control_mean: number | null;
  treatment_mean: number | null;
  effect: number | null;
  ci_lower: number | null;
  ci_upper: number | null;
  relative_effect: number | null;
  relative_ci_lower: number | null;
  relative_ci_upper: number | null;
  p_value: number | null;
  adjusted_p_value: number | null;
  correction: 'bh' | 'holm';
  is_significant: boolean | null;
  srm_p_value: number | null;
  is_srm: boolean | null;
  cuped_theta: number | null;
  cuped_variance_reduction: number | null;
  excluded_multiple_variants: number;
  excluded_unknown_variant: number;
  /** Why a row has no effect (too few users, no variance, …), else null. */
  note: string | null;
}

function summarize(metric: ExperimentMetric, row: StatisticsRow, path: string): UnitSummary {
  switch (metric.type) {
    case 'binomial':
      return summarizeBinomial({ n: row.n, successes: row.sum }, path);
    case 'mean':
      return summarizeMean({ n: row.n, sum: row.sum, sum_squares: row.sum_squares }, path);
    case 'ratio':
      return summarizeRatio(
        { n: row.n, m: { sum: row.sum, sum_squares: row.sum_squares }, d: { sum: row.d_sum ?? 0, sum_squares: row.d_sum_squares ?? 0 }, m_d_sum_of_products: row.m_d_sum_of_products ?? 0 },
        path,
      );
  }
}

const cupedStatistics = (row: StatisticsRow): CupedStatistics => ({
  n: row.n,
  post: { sum: row.sum, sum_squares: row.sum_squares },
  pre: { sum: row.pre_sum ?? 0, sum_squares: row.pre_sum_squares ?? 0 },
  post_pre_sum_of_products: row.post_pre_sum_of_products ?? 0,
});

/** One comparison on one scale; CUPED (pooled θ) where the metric asks for it. */
function effect(metric: ExperimentMetric, control: StatisticsRow, treatment: StatisticsRow, scale: 'absolute' | 'relative', alpha: number): Comparison & { theta?: number; variance_reduction?: number } {
  if (metric.type !== 'ratio' && metric.cuped) return compareCuped(cupedStatistics(control), cupedStatistics(treatment), { scale, alpha });
  return compare(summarize(metric, control, 'control'), summarize(metric, treatment, 'treatment'), { scale, alpha });
}

/** A comparison, or the reason there is none (too few users, no variance, a zero control mean). */
function attempt<T>(work: () => T): T | { note: string } {
  try {
    return work();
  } catch (error) {
    if (error instanceof StatisticsError) return { note: error.message };
    throw error;
  }
}

export function analyzeExperiment(experiment: ExperimentDefinition, statistics: readonly StatisticsRow[], exclusions: Exclusions): ResultRow[] {
  const key = (definition: string, segment: string) => `${definition}\u0000${segment}`;
  const cells = new Map<string, Map<string, Map<string, StatisticsRow>>>(); // segment → metric → variant → row
  for (const row of statistics) {
    const segment = cells.get(key(row.definition, row.segment)) ?? new Map<string, Map<string, StatisticsRow>>();
    cells.set(key(row.definition, row.segment), segment);
    const metric = segment.get(row.metric) ?? new Map<string, StatisticsRow>();
    segment.set(row.metric, metric);
    metric.set(row.variant, row);
  }
  const treatments = experiment.variants.filter((v) => v.name !== experiment.control).map((v) => v.name);
  const results: ResultRow[] = [];
  for (const [segmentKey, metrics] of cells) {
    const [definition, segment] = segmentKey.split('\u0000') as [string, string];
    // SRM of the segment: users per variant (the same for every metric) against the planned weights.
    const usersPerVariant = experiment.variants.map((v) => [...metrics.values()][0]?.get(v.name)?.n ?? 0);
    const srm = usersPerVariant.some((n) => n > 0) ? sampleRatioMismatch(usersPerVariant, experiment.variants.map((v) => v.weight)) : undefined;
    for (const metric of experiment.metrics) {
      const byVariant = metrics.get(metric.name);
      for (const variant of treatments) {
        const control = byVariant?.get(experiment.control);
        const treatment = byVariant?.get(variant);
        const base: ResultRow = {
          experiment: experiment.name, definition, segment, metric: metric.name, metric_type: metric.type, variant, control_variant: experiment.control,
          control_n: control?.n ?? 0, treatment_n: treatment?.n ?? 0, control_mean: null, treatment_mean: null,
          effect: null, ci_lower: null, ci_upper: null, relative_effect: null, relative_ci_lower: null, relative_ci_upper: null,
          p_value: null, adjusted_p_value: null, correction: experiment.correction, is_significant: null,
          srm_p_value: srm?.p_value ?? null, is_srm: srm?.is_mismatch ?? null, cuped_theta: null, cuped_variance_reduction: null,
          excluded_multiple_variants: exclusions.multiple_variants, excluded_unknown_variant: exclusions.unknown_variant, note: null,
        };
        if (!control || !treatment) {
          results.push({ ...base, note: `no exposed users in ${!control ? experiment.control : variant}` });
          continue;
        }
        const absolute = attempt(() => effect(metric, control, treatment, 'absolute', experiment.alpha));
        if ('note' in absolute) {
          results.push({ ...base, note: absolute.note });
          continue;
        }
        // The relative effect needs a control mean ≠ 0; without it the absolute effect still stands.
        const relative = attempt(() => effect(metric, control, treatment, 'relative', experiment.alpha));
        const hasRelative = !('note' in relative);
        results.push({
          ...base,
          control_mean: absolute.control_mean, treatment_mean: absolute.treatment_mean,
          effect: absolute.effect, ci_lower: absolute.ci_lower, ci_upper: absolute.ci_upper,
          relative_effect: hasRelative ? relative.effect : null,
          relative_ci_lower: hasRelative ? relative.ci_lower : null,
          relative_ci_upper: hasRelative ? relative.ci_upper : null,
          p_value: absolute.p_value, cuped_theta: absolute.theta ?? null, cuped_variance_reduction: absolute.variance_reduction ?? null,
          note: hasRelative ? null : `relative effect: ${relative.note}`,
        });
      }
    }
  }
  // One family per experiment: every segment × metric × variant with a p-value.
  const tested = results.filter((r) => r.p_value !== null);
  const adjusted = (experiment.correction === 'bh' ? benjaminiHochberg : holm)(tested.map((r) => r.p_value!));
  tested.forEach((r, i) => {
    r.adjusted_p_value = adjusted[i]!;
    r.is_significant = adjusted[i]! <= experiment.alpha;
  });
  return results;
}
