/**
 * Sample ratio mismatch: do the users per variant match the split the
 * experiment was configured with? Pearson's chi-square goodness-of-fit test
 * against the expected weights, GrowthBook's default SRM check ("Sample Ratio
 * Mismatch (SRM) Detection"; it flags p < 0.001 by default).
 */
import { chiSquareUpperTail } from './distributions.ts';
import { StatisticsError } from './statistics-error.ts';
import { requireCount } from './sufficient-statistics.ts';

/** GrowthBook's default SRM threshold: stricter than 0.05 because real SRM is rare and each alarm costs an investigation. */
export const DEFAULT_SRM_THRESHOLD = 0.001;

export interface SampleRatioMismatch {
  chi_square: number;
  df: number;
  p_value: number;
  /** Expected users per variant: total · weight / Σweights, in input order. */
  expected: number[];
  /** p_value < threshold. */
  is_mismatch: boolean;
}

/**
 * Pearson's chi-square goodness of fit (Pearson 1900):
 *
 *   E_i = N · w_i / Σw,   χ² = Σ (O_i − E_i)² / E_i,   df = k − 1
 *   p = P(χ²_df > χ²)
 *
 * Weights need not sum to 1 (50/50 may be given as [1, 1]); a weight of 0 is
 * refused (a variant expected to be empty is a configuration error, not a
 * test). p is 1 − CDF, so it bottoms out near 1e-16; that is far below any
 * threshold anyone uses.
 */
export function sampleRatioMismatch(
  observed: readonly number[],
  weights: readonly number[],
  threshold = DEFAULT_SRM_THRESHOLD,
): SampleRatioMismatch {
  if (observed.length < 2) throw new StatisticsError('invalid_input', 'observed', 'needs at least two variants');
  if (weights.length !== observed.length) throw new StatisticsError('invalid_input', 'weights', `expected ${observed.length} weights, got ${weights.length}`);
  observed.forEach((count, i) => requireCount(count, `observed[${i}]`, 0));
  weights.forEach((w, i) => {
    if (!(Number.isFinite(w) && w > 0)) throw new StatisticsError('invalid_input', `weights[${i}]`, `weights must be positive, got ${w}`);
  });
  const total = observed.reduce((a, b) => a + b, 0);
  if (total === 0) throw new StatisticsError('too_few_units', 'observed', 'no users in any variant');
  const weightTotal = weights.reduce((a, b) => a + b, 0);
  const expected = weights.map((w) => (total * w) / weightTotal);
  const chiSquare = observed.reduce((acc, o, i) => acc + (o - expected[i]!) ** 2 / expected[i]!, 0);
  const df = observed.length - 1;
  const pValue = chiSquareUpperTail(chiSquare, df);
  return { chi_square: chiSquare, df, p_value: pValue, expected, is_mismatch: pValue < threshold };
}
