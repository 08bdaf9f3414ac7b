import { standardNormalQuantile } from './distributions.ts';
import { DEFAULT_ALPHA, type Interval, requireAlpha } from './interval.ts';
import { StatisticsError } from './statistics-error.ts';
import { type BinomialStatistics, requireCount } from './sufficient-statistics.ts';

/**
 * Wilson score interval for a proportion (Wilson 1927; method 3 of Newcombe
 * 1998, "Two-sided confidence intervals for the single proportion"; recommended
 * by Brown, Cai & DasGupta 2001 over the Wald interval, whose coverage collapses
 * near 0 and 1):
 *
 *   p̂ = x / n,  z = Φ⁻¹(1 − α/2)
 *   centre     = (p̂ + z²/(2n)) / (1 + z²/n)
 *   half-width = z / (1 + z²/n) · √(p̂(1 − p̂)/n + z²/(4n²))
 *
 * Bounds stay inside [0, 1]; x = 0 gives a lower bound of exactly 0 and x = n an
 * upper bound of exactly 1 (the formula does so algebraically; they are set
 * exactly so rounding cannot leave 1e-17). Needs n ≥ 1.
 */
export function wilsonInterval(statistics: BinomialStatistics, alpha = DEFAULT_ALPHA): Interval {
  const { n, successes } = statistics;
  requireAlpha(alpha);
  requireCount(n, 'binomial.n', 1);
  requireCount(successes, 'binomial.successes', 0);
  if (successes > n) throw new StatisticsError('invalid_input', 'binomial.successes', `successes ${successes} exceed n ${n}`);
  const p = successes / n;
  const z = standardNormalQuantile(1 - alpha / 2);
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const halfWidth = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return {
    n,
    estimate: p,
    se: Math.sqrt((p * (1 - p)) / n),
    ci_lower: successes === 0 ? 0 : Math.max(0, centre - halfWidth),
    ci_upper: successes === n ? 1 : Math.min(1, centre + halfWidth),
    method: 'wilson',
  };
}
