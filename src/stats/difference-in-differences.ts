/**
 * Difference-in-differences for a change that was not randomised: an exposed
 * group and a comparison group, each user measured in a period before the
 * release and one after (a panel). With d_i = post_i − pre_i per user,
 *
 *   DiD = mean(d | exposed) − mean(d | comparison)
 *
 * and, the groups being disjoint, Var(DiD) = s²_d,E/n_E + s²_d,C/n_C: Welch's
 * comparison of the per-user changes (Angrist & Pischke 2009, "Mostly Harmless
 * Econometrics", §5.2; Card & Krueger 1994). The sums of d come from the same
 * sufficient statistics CUPED uses (pre = before, post = after):
 *
 *   Σd = Σpost − Σpre,   Σd² = Σpost² − 2·Σ(post·pre) + Σpre²
 *
 * The estimate is causal only under parallel trends: without the release, both
 * groups would have changed alike. `parallelTrendsCheck` tests the same
 * difference between two pre-release periods (a placebo DiD); a small p-value
 * is evidence against parallel trends, a large one is not proof of them.
 */
import { type Comparison, compare } from './effect-comparison.ts';
import { DEFAULT_ALPHA, type Interval } from './interval.ts';
import { meanInterval } from './mean-interval.ts';
import type { CupedStatistics, MeanStatistics } from './sufficient-statistics.ts';
import { summarizeMean } from './sufficient-statistics.ts';

/** One group's users measured before and after: n, Σ and Σ² of each period, Σ(after·before). */
export type PanelStatistics = CupedStatistics;

export interface DifferenceInDifferences {
  /** DiD with its interval and p (Welch on the per-user changes). */
  did: Comparison;
  /** Mean before and after per group, each with its t interval. */
  exposed_pre: Interval;
  exposed_post: Interval;
  comparison_pre: Interval;
  comparison_post: Interval;
}

/** n, Σd and Σd² of d = post − pre. */
export function changeStatistics(panel: PanelStatistics): MeanStatistics {
  return {
    n: panel.n,
    sum: panel.post.sum - panel.pre.sum,
    sum_squares: panel.post.sum_squares - 2 * panel.post_pre_sum_of_products + panel.pre.sum_squares,
  };
}

export function differenceInDifferences(exposed: PanelStatistics, comparison: PanelStatistics, alpha = DEFAULT_ALPHA): DifferenceInDifferences {
  const period = (panel: PanelStatistics, which: 'pre' | 'post') => meanInterval({ n: panel.n, ...panel[which] }, alpha);
  return {
    did: compare(summarizeMean(changeStatistics(comparison), 'comparison'), summarizeMean(changeStatistics(exposed), 'exposed'), { scale: 'absolute', alpha }),
    exposed_pre: period(exposed, 'pre'),
    exposed_post: period(exposed, 'post'),
    comparison_pre: period(comparison, 'pre'),
    comparison_post: period(comparison, 'post'),
  };
}

export interface ParallelTrendsCheck {
  /** The placebo DiD between two pre-release periods (pre = the earlier, post = the later). */
  placebo: Comparison;
  /** No evidence against parallel trends at `alpha` (placebo p ≥ alpha). */
  holds: boolean;
}

export function parallelTrendsCheck(exposed: PanelStatistics, comparison: PanelStatistics, alpha = DEFAULT_ALPHA): ParallelTrendsCheck {
  const placebo = differenceInDifferences(exposed, comparison, alpha).did;
  return { placebo, holds: placebo.p_value >= alpha };
}

export interface PreTrendSlopes {
  /** Exposed minus comparison slope of the metric per week before the release, with its interval and p (Welch). */
  slope_difference: Comparison;
  /** No evidence against parallel trends at `alpha` (p ≥ alpha): the interval covers 0. */
  holds: boolean;
}

/**
 * Parallel trends as a slope check over K whole weeks before the release. Each
 * user's least-squares slope of their weekly value y_k on the week k = 0 … K−1,
 *
 *   b_i = Σ_k (k − k̄)·y_ik / Σ_k (k − k̄)²,   Σ_k (k − k̄)² = K(K² − 1)/12,
 *
 * is linear in the user's values, so the mean of b_i over a group is the slope
 * of that group's weekly mean, and the spread of b_i gives its standard error.
 * The two groups' mean slopes are compared like any two means (Welch), from
 * n, Σb and Σb² per group. A slope difference whose interval excludes 0 is
 * evidence against parallel trends; one that covers 0 is not proof of them.
 */
export function parallelTrendsBySlope(exposed: MeanStatistics, comparison: MeanStatistics, alpha = DEFAULT_ALPHA): PreTrendSlopes {
  const slope_difference = compare(summarizeMean(comparison, 'comparison'), summarizeMean(exposed, 'exposed'), { scale: 'absolute', alpha });
  return { slope_difference, holds: slope_difference.p_value >= alpha };
}
