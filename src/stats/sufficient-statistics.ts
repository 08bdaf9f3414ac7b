/**
 * Sufficient statistics, named as GrowthBook's gbstats names them, and the
 * per-unit mean and variance each one implies. SQL computes the sums set-based
 * (count(*), sum(x), sum(x*x), sum(x*y)); no raw rows reach Node.
 *
 * Every summary is reduced to a `UnitSummary` — n, the mean, and the variance
 * of one unit — so that Var(mean) = variance / n for every metric kind and the
 * comparisons need not know which kind they compare (GrowthBook "Statistical
 * Details", section "Estimating variation means").
 */
import { StatisticsError } from './statistics-error.ts';

/** Users of whom `successes` converted (a proportion metric). */
export interface BinomialStatistics {
  n: number;
  successes: number;
}

/** Σx and Σx² of one value per unit. */
export interface Moments {
  sum: number;
  sum_squares: number;
}

/** A mean metric: n units, Σx and Σx² of their values. */
export interface MeanStatistics extends Moments {
  n: number;
}

/** A mean metric with its pre-exposure covariate for CUPED: Σy, Σy², Σx, Σx² and Σxy over the same n units. */
export interface CupedStatistics {
  n: number;
  post: Moments;
  pre: Moments;
  post_pre_sum_of_products: number;
}

/** A ratio metric ΣM / ΣD over n randomisation units (e.g. orders per session): both sums, both sums of squares, ΣMD. */
export interface RatioStatistics {
  n: number;
  m: Moments;
  d: Moments;
  m_d_sum_of_products: number;
}

/** What every comparison needs from a group: its size, its mean, and the variance of one unit (so Var(mean) = variance / n). */
export interface UnitSummary {
  n: number;
  mean: number;
  variance: number;
}

/** Relative tolerance below which a negative centred sum of squares is taken as floating-point rounding rather than bad input. */
const ROUNDING_TOLERANCE = 1e-9;

/** Throws unless `value` is a finite number. */
export function requireFinite(value: number, path: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new StatisticsError('invalid_input', path, `expected a finite number, got ${String(value)}`);
  }
}

/** Throws unless `n` is an integer count of at least `minimum`. */
export function requireCount(n: number, path: string, minimum: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
    throw new StatisticsError('invalid_input', path, `expected a non-negative integer count, got ${String(n)}`);
  }
  if (n < minimum) throw new StatisticsError('too_few_units', path, `needs at least ${minimum} units, got ${n}`);
}

/**
 * Sample covariance from sums, with Bessel's n − 1 correction:
 *
 *   s_xy = (Σxy − Σx·Σy / n) / (n − 1)
 *
 * (GrowthBook "Statistical Details", mean metrics; the same identity with x = y
 * gives the sample variance.) Needs n ≥ 2.
 */
export function sampleCovariance(n: number, sumX: number, sumY: number, sumOfProducts: number, path = 'statistics'): number {
  requireCount(n, `${path}.n`, 2);
  requireFinite(sumX, `${path}.sum`);
  requireFinite(sumY, `${path}.sum`);
  requireFinite(sumOfProducts, `${path}.sum_of_products`);
  return (sumOfProducts - (sumX * sumY) / n) / (n - 1);
}

/**
 * Sample variance from n, Σx and Σx², with Bessel's n − 1 correction:
 *
 *   s² = (Σx² − (Σx)² / n) / (n − 1)
 *
 * Σx² − (Σx)²/n subtracts two nearly equal numbers when the values barely
 * vary, so rounding can leave it slightly below zero; a result within a
 * relative 1e-9 of zero is clamped to 0 (the data had no spread). Anything more
 * negative cannot come from real data and is an error.
 */
export function sampleVariance(n: number, sum: number, sumSquares: number, path = 'statistics'): number {
  requireFinite(sumSquares, `${path}.sum_squares`);
  const variance = sampleCovariance(n, sum, sum, sumSquares, path);
  if (variance >= 0) return variance;
  if (-variance * (n - 1) <= ROUNDING_TOLERANCE * Math.max(Math.abs(sumSquares), 1)) return 0;
  throw new StatisticsError('inconsistent_statistics', `${path}.sum_squares`, `sum_squares ${sumSquares} is below sum²/n = ${(sum * sum) / n}`);
}

/**
 * Mean metric: x̄ = Σx / n and s² as in `sampleVariance` (GrowthBook "Statistical
 * Details", mean metrics). Needs n ≥ 2.
 */
export function summarizeMean(statistics: MeanStatistics, path = 'mean'): UnitSummary {
  const { n, sum, sum_squares } = statistics;
  const variance = sampleVariance(n, sum, sum_squares, path);
  return { n, mean: sum / n, variance };
}

/**
 * Proportion metric: p̂ = successes / n and the Bernoulli variance p̂(1 − p̂),
 * without the n − 1 correction, as GrowthBook does for binomial metrics
 * ("Statistical Details", proportion metrics). Needs n ≥ 2 so that the Welch
 * degrees of freedom are defined.
 */
export function summarizeBinomial(statistics: BinomialStatistics, path = 'binomial'): UnitSummary {
  const { n, successes } = statistics;
  requireCount(n, `${path}.n`, 2);
  requireCount(successes, `${path}.successes`, 0);
  if (successes > n) throw new StatisticsError('invalid_input', `${path}.successes`, `successes ${successes} exceed n ${n}`);
  const p = successes / n;
  return { n, mean: p, variance: p * (1 - p) };
}

/**
 * Ratio metric R = ΣM / ΣD over n units, with the delta-method variance of one
 * unit (Deng, Knoblich & Lu 2018, "Applying the Delta Method in Metric
 * Analytics", section 3; GrowthBook "Statistical Details", ratio metrics):
 *
 *   R = M̄ / D̄
 *   variance = (s²_M − 2 R s_MD + R² s²_D) / D̄²,   Var(R) ≈ variance / n
 *
 * with s²_M, s²_D, s_MD the n − 1 sample (co)variances. A negative result can
 * only be rounding (it is a variance of M − R·D); it is clamped to 0.
 */
export function summarizeRatio(statistics: RatioStatistics, path = 'ratio'): UnitSummary {
  const { n, m, d, m_d_sum_of_products } = statistics;
  const varianceM = sampleVariance(n, m.sum, m.sum_squares, `${path}.m`);
  const varianceD = sampleVariance(n, d.sum, d.sum_squares, `${path}.d`);
  const covariance = sampleCovariance(n, m.sum, d.sum, m_d_sum_of_products, path);
  if (d.sum === 0) throw new StatisticsError('zero_denominator', `${path}.d.sum`, 'the denominator sums to 0, so the ratio is undefined');
  const ratio = m.sum / d.sum;
  const meanD = d.sum / n;
  const variance = (varianceM - 2 * ratio * covariance + ratio * ratio * varianceD) / (meanD * meanD);
  return { n, mean: ratio, variance: Math.max(variance, 0) };
}
