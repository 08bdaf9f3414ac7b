/**
 * The distribution functions the module uses, from stdlib (a maintained
 * library, so no hand-written incomplete beta or gamma functions here). The t
 * functions accept `df = Infinity` and then use the standard normal, which is
 * the t distribution's limit; stdlib's t functions would return NaN there.
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';

/** P(T ≤ x) for Student's t with `df` degrees of freedom (standard normal when df is infinite). */
export function studentTCdf(x: number, df: number): number {
  return Number.isFinite(df) ? tCdf(x, df) : normalCdf(x, 0, 1);
}

/** The p-quantile of Student's t with `df` degrees of freedom (standard normal when df is infinite). */
export function studentTQuantile(p: number, df: number): number {
  return Number.isFinite(df) ? tQuantile(p, df) : normalQuantile(p, 0, 1);
}

/** P(Z ≤ x) for the standard normal. */
export function standardNormalCdf(x: number): number {
  return normalCdf(x, 0, 1);
}

/** The p-quantile of the standard normal. */
export function standardNormalQuantile(p: number): number {
  return normalQuantile(p, 0, 1);
}

/** P(X > x) for a chi-square variable with `df` degrees of freedom. */
export function chiSquareUpperTail(x: number, df: number): number {
  return 1 - chisquareCdf(x, df);
}
