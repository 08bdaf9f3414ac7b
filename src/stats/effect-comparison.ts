/**
 * Treatment against control (or a segment against everyone else): the absolute
 * or relative effect, its standard error, Welch's test and the confidence
 * bounds. Fed with `UnitSummary`s, so the same function compares proportions,
 * means and ratios (summarize them with sufficient-statistics.ts first).
 */
import { DEFAULT_ALPHA } from './interval.ts';
import { StatisticsError } from './statistics-error.ts';
import type { UnitSummary } from './sufficient-statistics.ts';
import { type Alternative, welchDegreesOfFreedom, welchTest } from './welch-test.ts';

export type EffectScale = 'absolute' | 'relative';

export interface CompareOptions {
  /** `absolute`: μ_T − μ_C. `relative` (GrowthBook's default "lift"): (μ_T − μ_C) / μ_C. Default `absolute`. */
  scale?: EffectScale;
  /** Default `two-sided`. */
  alternative?: Alternative;
  /** Default 0.05 (95% intervals). */
  alpha?: number;
}

/** The result of a comparison, with GrowthBook's field names (plus the n's and df). */
export interface Comparison {
  scale: EffectScale;
  effect: number;
  se: number;
  /** −Infinity for a one-sided `less` test. */
  ci_lower: number;
  /** +Infinity for a one-sided `greater` test. */
  ci_upper: number;
  p_value: number;
  df: number;
  control_mean: number;
  treatment_mean: number;
  control_n: number;
  treatment_n: number;
}

/**
 * Absolute effect and its variance (GrowthBook "Statistical Details", absolute
 * effects):
 *
 *   Δ_a = μ̂_T − μ̂_C,  Var(Δ_a) = s²_T/n_T + s²_C/n_C
 */
export function absoluteEffect(control: UnitSummary, treatment: UnitSummary): { effect: number; variance: number } {
  return {
    effect: treatment.mean - control.mean,
    variance: treatment.variance / treatment.n + control.variance / control.n,
  };
}

/**
 * Relative effect (lift) and its delta-method variance (GrowthBook
 * "Statistical Details", lift; Deng, Knoblich & Lu 2018 §3 applied to
 * μ̂_T / μ̂_C with independent groups):
 *
 *   Δ_r = (μ̂_T − μ̂_C) / μ̂_C
 *   Var(Δ_r) = s²_T / (μ̂_C² n_T) + s²_C μ̂_T² / (μ̂_C⁴ n_C)
 *
 * Undefined when μ̂_C = 0.
 */
export function relativeEffect(control: UnitSummary, treatment: UnitSummary): { effect: number; variance: number } {
  if (control.mean === 0) throw new StatisticsError('zero_denominator', 'control.mean', 'the control mean is 0, so a relative effect is undefined');
  const c2 = control.mean * control.mean;
  return {
    effect: (treatment.mean - control.mean) / control.mean,
    variance: treatment.variance / (c2 * treatment.n) + (control.variance * treatment.mean * treatment.mean) / (c2 * c2 * control.n),
  };
}

/**
 * Compare treatment with control: the effect on the chosen scale, se = √Var,
 * and Welch's t test with Welch–Satterthwaite df (see welch-test.ts). This is
 * GrowthBook's frequentist engine without sequential testing. Both groups
 * need n ≥ 2.
 */
export function compare(control: UnitSummary, treatment: UnitSummary, options: CompareOptions = {}): Comparison {
  const { scale = 'absolute', alternative = 'two-sided', alpha = DEFAULT_ALPHA } = options;
  for (const [path, group] of [['control', control], ['treatment', treatment]] as const) {
    if (!(group.n >= 2)) throw new StatisticsError('too_few_units', `${path}.n`, `needs at least 2 units, got ${group.n}`);
  }
  const { effect, variance } = scale === 'absolute' ? absoluteEffect(control, treatment) : relativeEffect(control, treatment);
  return comparisonResult({ scale, alternative, alpha }, effect, variance, welchDegreesOfFreedom(control, treatment), control, treatment);
}

/**
 * An effect and its variance as a Comparison: se = √Var and Welch's test with `df`.
 * The means and n reported are those of the groups given (CUPED passes the unadjusted ones).
 */
export function comparisonResult(
  options: { scale: EffectScale; alternative: Alternative; alpha: number },
  effect: number,
  variance: number,
  df: number,
  control: { n: number; mean: number },
  treatment: { n: number; mean: number },
): Comparison {
  const se = Math.sqrt(variance);
  return {
    scale: options.scale,
    effect,
    se,
    ...welchTest(effect, se, df, options.alternative, options.alpha),
    control_mean: control.mean,
    treatment_mean: treatment.mean,
    control_n: control.n,
    treatment_n: treatment.n,
  };
}
