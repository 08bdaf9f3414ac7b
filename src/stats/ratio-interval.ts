import { standardNormalQuantile } from './distributions.ts';
import { DEFAULT_ALPHA, type Interval, requireAlpha } from './interval.ts';
import { type RatioStatistics, summarizeRatio } from './sufficient-statistics.ts';

/**
 * Confidence interval for a ratio of means R = ΣM / ΣD (e.g. revenue per
 * session, where the user is the unit) by the delta method (Deng, Knoblich & Lu
 * 2018, "Applying the Delta Method in Metric Analytics", §3, eq. for
 * Var(X̄/Ȳ)):
 *
 *   Var(R) ≈ (s²_M − 2R·s_MD + R²·s²_D) / (n · D̄²)
 *   R ± z(1 − α/2) · √Var(R)
 *
 * The covariance term s_MD comes from Σ(M·D) and is what makes the interval
 * honest: sessions of one user are not independent. Normal quantile, because the
 * delta method is itself an asymptotic (large-n) approximation and has no
 * small-sample t justification. Needs n ≥ 2 and ΣD ≠ 0.
 */
export function ratioInterval(statistics: RatioStatistics, alpha = DEFAULT_ALPHA): Interval {
  requireAlpha(alpha);
  const { n, mean, variance } = summarizeRatio(statistics);
  const se = Math.sqrt(variance / n);
  const width = standardNormalQuantile(1 - alpha / 2) * se;
  return { n, estimate: mean, se, ci_lower: mean - width, ci_upper: mean + width, method: 'delta-normal' };
}
