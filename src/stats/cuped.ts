/**
 * CUPED: variance reduction with a pre-exposure covariate (Deng, Xu, Kohavi &
 * Walker 2013, "Improving the Sensitivity of Online Controlled Experiments by
 * Utilizing Pre-Experiment Data", §3), following GrowthBook's published
 * conventions ("CUPED Technical Details", mean or binomial metric): one θ
 * pooled across the compared variants, absolute effect as the difference of
 * adjusted means, relative effect over the *unadjusted* control mean with a
 * delta-method variance.
 */
import { absoluteEffect, type Comparison, comparisonResult, type CompareOptions, relativeEffect } from './effect-comparison.ts';
import { DEFAULT_ALPHA } from './interval.ts';
import { StatisticsError } from './statistics-error.ts';
import { type CupedStatistics, sampleCovariance, sampleVariance, type UnitSummary } from './sufficient-statistics.ts';
import { welchDegreesOfFreedom } from './welch-test.ts';

/** Moments of one variant: post (Y) and pre (X) means, variances and their covariance. */
interface CupedMoments {
  n: number;
  post_mean: number;
  pre_mean: number;
  post_variance: number;
  pre_variance: number;
  covariance: number;
}

function cupedMoments(statistics: CupedStatistics, path: string): CupedMoments {
  const { n, post, pre, post_pre_sum_of_products } = statistics;
  return {
    n,
    post_mean: post.sum / n,
    pre_mean: pre.sum / n,
    post_variance: sampleVariance(n, post.sum, post.sum_squares, `${path}.post`),
    pre_variance: sampleVariance(n, pre.sum, pre.sum_squares, `${path}.pre`),
    covariance: sampleCovariance(n, pre.sum, post.sum, post_pre_sum_of_products, path),
  };
}

/**
 * θ = Cov(Y, X) / Var(X), estimated on the users of all the given variants
 * together (Deng et al. 2013, eq. 4; GrowthBook "CUPED Technical Details":
 * "using user data across both control and treatment"). The sums are added
 * across variants and the moments taken about the pooled means. Pooling keeps
 * θ the same for both arms, which keeps the adjusted difference unbiased. A
 * covariate with no variance cannot help: θ = 0 (no adjustment).
 */
export function cupedTheta(variants: readonly CupedStatistics[]): number {
  if (variants.length === 0) throw new StatisticsError('invalid_input', 'variants', 'needs at least one variant');
  let n = 0;
  let sumX = 0;
  let sumXX = 0;
  let sumY = 0;
  let sumXY = 0;
  for (const v of variants) {
    n += v.n;
    sumX += v.pre.sum;
    sumXX += v.pre.sum_squares;
    sumY += v.post.sum;
    sumXY += v.post_pre_sum_of_products;
  }
  const varianceX = sampleVariance(n, sumX, sumXX, 'pooled.pre');
  return varianceX === 0 ? 0 : sampleCovariance(n, sumX, sumY, sumXY, 'pooled') / varianceX;
}

/**
 * One variant's CUPED-adjusted summary for a given θ (Deng et al. 2013, §3.1;
 * GrowthBook "CUPED Technical Details", V_adj):
 *
 *   mean     = Ȳ − θ·X̄
 *   variance = s²_Y + θ²·s²_X − 2θ·s_XY      (Var(mean) = variance / n)
 *
 * The variance is that of Y − θX, so a negative value is rounding: clamped to 0.
 */
export function cupedAdjustedSummary(statistics: CupedStatistics, theta: number, path = 'cuped'): UnitSummary {
  const m = cupedMoments(statistics, path);
  return { n: m.n, mean: m.post_mean - theta * m.pre_mean, variance: adjustedVariance(m, theta) };
}

function adjustedVariance(m: CupedMoments, theta: number): number {
  return Math.max(0, m.post_variance + theta * theta * m.pre_variance - 2 * theta * m.covariance);
}

export interface CupedComparison extends Comparison {
  /** The θ used (pooled over control and treatment unless given). */
  theta: number;
  /** 1 − Var(adjusted effect) / Var(unadjusted effect) on the same scale: the share of variance CUPED removed (≈ ρ² for a pooled θ). */
  variance_reduction: number;
}

/**
 * Compare two variants with CUPED. `control_mean` and `treatment_mean` are the
 * unadjusted post-exposure means (what users of the metric recognise).
 *
 * Absolute: Δ_a = (Ȳ_T − θX̄_T) − (Ȳ_C − θX̄_C),
 *           Var = V_adj,T / n_T + V_adj,C / n_C.
 * Relative: Δ_r = Δ_a / Ȳ_C, and with r = Ȳ_T / Ȳ_C the delta method
 *           (GrowthBook "CUPED Technical Details", relative case, the
 *           production formula that uses X̄_T ≈ X̄_C under randomisation) gives
 *           Var = (s²_YT + θ²s²_XT − 2θ s_XYT) / (n_T Ȳ_C²)
 *               + (r² s²_YC − 2θ r s_XYC + θ² s²_XC) / (n_C Ȳ_C²).
 * (GrowthBook's page prints the first term's cross product as −2σ_XY,T; the
 * variance of Y − θX has −2θσ_XY,T, which is what is used here.)
 *
 * Welch's test uses the df of the adjusted per-unit variances.
 */
export function compareCuped(
  control: CupedStatistics,
  treatment: CupedStatistics,
  options: CompareOptions & { theta?: number } = {},
): CupedComparison {
  const { scale = 'absolute', alternative = 'two-sided', alpha = DEFAULT_ALPHA } = options;
  const theta = options.theta ?? cupedTheta([control, treatment]);
  const c = cupedMoments(control, 'control');
  const t = cupedMoments(treatment, 'treatment');
  const adjustedControl: UnitSummary = { n: c.n, mean: c.post_mean - theta * c.pre_mean, variance: adjustedVariance(c, theta) };
  const adjustedTreatment: UnitSummary = { n: t.n, mean: t.post_mean - theta * t.pre_mean, variance: adjustedVariance(t, theta) };
  const difference = adjustedTreatment.mean - adjustedControl.mean;
  const unadjustedControl: UnitSummary = { n: c.n, mean: c.post_mean, variance: c.post_variance };
  const unadjustedTreatment: UnitSummary = { n: t.n, mean: t.post_mean, variance: t.post_variance };

  // The same scale without CUPED, for the variance reduction achieved.
  const unadjustedVariance = (scale === 'absolute' ? absoluteEffect : relativeEffect)(unadjustedControl, unadjustedTreatment).variance;
  let effect: number;
  let variance: number;
  if (scale === 'absolute') {
    ({ effect, variance } = absoluteEffect(adjustedControl, adjustedTreatment));
  } else {
    if (c.post_mean === 0) throw new StatisticsError('zero_denominator', 'control.post.sum', 'the control mean is 0, so a relative effect is undefined');
    const yc2 = c.post_mean * c.post_mean;
    const r = t.post_mean / c.post_mean;
    effect = difference / c.post_mean;
    const controlTerm = Math.max(0, r * r * c.post_variance - 2 * theta * r * c.covariance + theta * theta * c.pre_variance);
    variance = adjustedTreatment.variance / (t.n * yc2) + controlTerm / (c.n * yc2);
  }
  return {
    ...comparisonResult({ scale, alternative, alpha }, effect, variance, welchDegreesOfFreedom(adjustedControl, adjustedTreatment), unadjustedControl, unadjustedTreatment),
    theta,
    variance_reduction: unadjustedVariance > 0 ? 1 - variance / unadjustedVariance : 0,
  };
}
