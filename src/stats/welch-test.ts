/**
 * Welch's unequal-variance t test on an effect and its standard error: the
 * degrees of freedom, the p-value and the confidence bounds, for a two-sided
 * test or either one-sided test. GrowthBook's frequentist engine does the same
 * ("Statistical Details", frequentist engine: p-value and confidence interval).
 */
import { studentTCdf, studentTQuantile } from './distributions.ts';
import { requireAlpha } from './interval.ts';
import { StatisticsError } from './statistics-error.ts';
import type { UnitSummary } from './sufficient-statistics.ts';

/**
 * The alternative hypothesis: `two-sided` (effect ≠ 0), `greater` (treatment
 * above control; the interval is [lower, +∞)), `less` (treatment below control;
 * the interval is (−∞, upper]). Named as R's t.test names them.
 */
export type Alternative = 'two-sided' | 'greater' | 'less';

export interface TestResult {
  /** Welch–Satterthwaite degrees of freedom (Infinity means the normal was used). */
  df: number;
  p_value: number;
  ci_lower: number;
  ci_upper: number;
}

/**
 * Welch–Satterthwaite degrees of freedom (Welch 1947, "The generalization of
 * Student's problem when several different population variances are involved";
 * Satterthwaite 1946), from per-unit variances:
 *
 *   ν = (s²_T/n_T + s²_C/n_C)² / ( (s²_T/n_T)²/(n_T − 1) + (s²_C/n_C)²/(n_C − 1) )
 *
 * GrowthBook uses the same ν for absolute and relative effects. Both variances
 * 0 gives 0/0; callers have already refused a zero standard error by then.
 */
export function welchDegreesOfFreedom(control: UnitSummary, treatment: UnitSummary): number {
  const c = control.variance / control.n;
  const t = treatment.variance / treatment.n;
  return (c + t) ** 2 / ((c * c) / (control.n - 1) + (t * t) / (treatment.n - 1));
}

/**
 * p-value and confidence bounds for an estimate with standard error `se` and
 * `df` degrees of freedom, testing effect = 0 (Welch 1947; GrowthBook
 * "Statistical Details"):
 *
 *   t = effect / se,  F = CDF of Student's t with df
 *   two-sided: p = 2·F(−|t|),  effect ± F⁻¹(1 − α/2)·se
 *   greater:   p = F(−t),      [effect − F⁻¹(1 − α)·se, +∞)
 *   less:      p = F(t),       (−∞, effect + F⁻¹(1 − α)·se]
 *
 * 2·F(−|t|) rather than 2·(1 − F(|t|)) keeps small p-values accurate.
 */
export function welchTest(effect: number, se: number, df: number, alternative: Alternative, alpha: number): TestResult {
  requireAlpha(alpha);
  if (!(se > 0)) throw new StatisticsError('zero_variance', 'se', 'the standard error is 0 (no variation in either group), so no test is possible');
  if (!(df > 0)) throw new StatisticsError('too_few_units', 'df', `degrees of freedom must be positive, got ${df}`);
  const t = effect / se;
  switch (alternative) {
    case 'two-sided': {
      const width = studentTQuantile(1 - alpha / 2, df) * se;
      return { df, p_value: Math.min(1, 2 * studentTCdf(-Math.abs(t), df)), ci_lower: effect - width, ci_upper: effect + width };
    }
    case 'greater': {
      const width = studentTQuantile(1 - alpha, df) * se;
      return { df, p_value: studentTCdf(-t, df), ci_lower: effect - width, ci_upper: Infinity };
    }
    case 'less': {
      const width = studentTQuantile(1 - alpha, df) * se;
      return { df, p_value: studentTCdf(t, df), ci_lower: -Infinity, ci_upper: effect + width };
    }
  }
}
