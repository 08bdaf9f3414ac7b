/**
 * The shape every single-group interval takes, so a mart stores one set of
 * columns whatever the metric kind: the estimate, its n, its standard error and
 * the two bounds, and which formula made them.
 */
import { StatisticsError } from './statistics-error.ts';

export type IntervalMethod = 'wilson' | 'student-t' | 'delta-normal';

export interface Interval {
  /** Units behind the estimate. */
  n: number;
  estimate: number;
  /** Standard error of the estimate (for Wilson: the Wald standard error √(p̂(1 − p̂)/n), reported for reference; the bounds do not use it). */
  se: number;
  ci_lower: number;
  ci_upper: number;
  method: IntervalMethod;
}

/** 0.05: the two-sided 95% intervals the issues ask for. */
export const DEFAULT_ALPHA = 0.05;

/** Throws unless 0 < alpha < 1. */
export function requireAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new StatisticsError('invalid_input', 'alpha', `alpha must lie in (0, 1), got ${alpha}`);
}
