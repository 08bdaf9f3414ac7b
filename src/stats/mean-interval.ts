import { studentTQuantile } from './distributions.ts';
import { DEFAULT_ALPHA, type Interval, requireAlpha } from './interval.ts';
import { type MeanStatistics, summarizeMean } from './sufficient-statistics.ts';

/**
 * Confidence interval for one mean from n, Σx and Σx² (Student 1908; any
 * textbook, e.g. Casella & Berger, Statistical Inference, §9.2):
 *
 *   x̄ = Σx / n,  s² = (Σx² − (Σx)²/n) / (n − 1),  se = s / √n
 *   x̄ ± t(1 − α/2; n − 1) · se
 *
 * Always Student's t with n − 1 degrees of freedom, never a switch to the
 * normal "when n is large": t is exact for normal data at small n, and it
 * converges to the normal by itself (t(0.975; 999) = 1.9623 against
 * z = 1.9600), so a cut-over would only add a discontinuity. For skewed
 * values (revenue) the interval rests on the central limit theorem either way.
 * Needs n ≥ 2.
 */
export function meanInterval(statistics: MeanStatistics, alpha = DEFAULT_ALPHA): Interval {
  requireAlpha(alpha);
  const { n, mean, variance } = summarizeMean(statistics);
  const se = Math.sqrt(variance / n);
  const width = studentTQuantile(1 - alpha / 2, n - 1) * se;
  return { n, estimate: mean, se, ci_lower: mean - width, ci_upper: mean + width, method: 'student-t' };
}
