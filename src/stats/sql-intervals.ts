/**
 * The module's interval formulas rendered as PostgreSQL expressions, so a mart
 * can compute its bounds set-based in the same statement that sums its
 * sufficient statistics (a model's build is one SELECT). The formulas are those
 * of proportion-interval.ts, mean-interval.ts and effect-comparison.ts, and the
 * constants (z, t quantiles, Cornish–Fisher coefficients) are computed here from
 * the same stdlib distribution functions; test/integration/stats-sql.test.ts
 * checks every expression against its TypeScript function on the database.
 *
 * Arguments are SQL expressions written by model code (column names), never
 * user input. Every result is null where the TypeScript function would throw
 * (too few units, zero denominator, zero variance), so a small segment gets an
 * empty interval rather than a failed build.
 */
import { standardNormalQuantile, studentTQuantile } from './distributions.ts';
import { DEFAULT_ALPHA } from './interval.ts';

/** Exact degrees of freedom up to this many; beyond, the Cornish–Fisher expansion. */
export const T_TABLE_MAX_DF = 30;

/** A finite number as a SQL literal (double precision). */
function literal(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
  return `(${value.toPrecision(17)})::float8`;
}

/**
 * Student's t quantile t(1 − α/2; ν) for a df expression. For ν ≤ 30 the exact
 * quantile at ⌊ν⌋ (a conservative rounding for Welch's fractional ν, which
 * widens the interval by less than t(⌊ν⌋) − t(ν)); above, the Cornish–Fisher
 * expansion in 1/ν (Abramowitz & Stegun 26.7.5, four terms), whose error at
 * ν > 30 is below 1e-6. ν ≤ 0 or null gives null.
 */
export function tQuantileSql(df: string, alpha = DEFAULT_ALPHA): string {
  const p = 1 - alpha / 2;
  const z = standardNormalQuantile(p);
  const g = [
    (z ** 3 + z) / 4,
    (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
    (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
    (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160,
  ];
  const table = Array.from({ length: T_TABLE_MAX_DF }, (_, i) => studentTQuantile(p, i + 1).toPrecision(17)).join(', ');
  const v = `(${df})::float8`;
  const expansion = `${literal(z)} + ${g.map((c, i) => `${literal(c)} / power(${v}, ${i + 1})`).join(' + ')}`;
  return `(case when ${v} > ${T_TABLE_MAX_DF} then ${expansion} when ${v} >= 1 then (array[${table}]::float8[])[floor(${v})::int] end)`;
}

/** z = Φ⁻¹(1 − α/2) as a SQL literal. */
export function zSql(alpha = DEFAULT_ALPHA): string {
  return literal(standardNormalQuantile(1 - alpha / 2));
}

/** Wilson score bounds for `successes` out of `n` (proportion-interval.ts); null for n < 1. */
export function wilsonBoundsSql(n: string, successes: string, alpha = DEFAULT_ALPHA): { lower: string; upper: string } {
  const z2 = literal(standardNormalQuantile(1 - alpha / 2) ** 2);
  const z = zSql(alpha);
  const N = `nullif((${n})::float8, 0)`;
  const p = `((${successes})::float8 / ${N})`;
  const centre = `((${p} + ${z2} / (2 * ${N})) / (1 + ${z2} / ${N}))`;
  const half = `(${z} / (1 + ${z2} / ${N}) * sqrt(greatest(${p} * (1 - ${p}), 0) / ${N} + ${z2} / (4 * ${N} * ${N})))`;
  return {
    lower: `(case when (${n}) < 1 then null when (${successes}) = 0 then 0::float8 else greatest(0::float8, ${centre} - ${half}) end)`,
    upper: `(case when (${n}) < 1 then null when (${successes}) = (${n}) then 1::float8 else least(1::float8, ${centre} + ${half}) end)`,
  };
}

/** Per-unit sample variance from n, Σx, Σx² (sufficient-statistics.ts, clamped at 0); null for n < 2. */
export function sampleVarianceSql(n: string, sum: string, sumSquares: string): string {
  return `(case when (${n}) >= 2 then greatest(((${sumSquares})::float8 - (${sum})::float8 * (${sum})::float8 / (${n})::float8) / ((${n})::float8 - 1), 0) end)`;
}

/** Student-t bounds x̄ ± t(1 − α/2; n − 1)·s/√n (mean-interval.ts); null for n < 2. */
export function meanBoundsSql(n: string, mean: string, variance: string, alpha = DEFAULT_ALPHA): { lower: string; upper: string } {
  const width = `(${tQuantileSql(`(${n}) - 1`, alpha)} * sqrt((${variance}) / nullif((${n})::float8, 0)))`;
  return { lower: `(${mean} - ${width})`, upper: `(${mean} + ${width})` };
}

/** A group as SQL expressions: n, mean and per-unit variance (a UnitSummary). */
export interface UnitSummarySql {
  n: string;
  mean: string;
  variance: string;
}

/** Welch–Satterthwaite ν (welch-test.ts). */
export function welchDfSql(control: UnitSummarySql, treatment: UnitSummarySql): string {
  const c = `((${control.variance}) / nullif((${control.n})::float8, 0))`;
  const t = `((${treatment.variance}) / nullif((${treatment.n})::float8, 0))`;
  return `(power(${c} + ${t}, 2) / nullif(${c} * ${c} / nullif((${control.n})::float8 - 1, 0) + ${t} * ${t} / nullif((${treatment.n})::float8 - 1, 0), 0))`;
}

/**
 * Relative lift (μ_T − μ_C)/μ_C with its delta-method variance and Welch-t
 * bounds (effect-comparison.ts relativeEffect + welch-test.ts two-sided).
 * Null where compare() would refuse: n < 2 in a group, μ_C = 0, se = 0.
 * `df` may name a column holding welchDfSql(control, treatment) from an earlier, unflattened layer
 * (`offset 0`): inline, the t quantile repeats it 14 times per row, which dominates a mart of thousands of rows.
 */
export function relativeLiftSql(control: UnitSummarySql, treatment: UnitSummarySql, alpha = DEFAULT_ALPHA, df = welchDfSql(control, treatment)): { effect: string; lower: string; upper: string } {
  const guard = `(${control.n}) >= 2 and (${treatment.n}) >= 2 and (${control.mean}) <> 0`;
  const c2 = `power((${control.mean})::float8, 2)`;
  const variance = `((${treatment.variance}) / (${c2} * (${treatment.n})::float8) + (${control.variance}) * power((${treatment.mean})::float8, 2) / (${c2} * ${c2} * (${control.n})::float8))`;
  const effect = `(((${treatment.mean}) - (${control.mean})) / nullif((${control.mean})::float8, 0))`;
  const width = `(${tQuantileSql(df, alpha)} * nullif(sqrt(${variance}), 0))`;
  return {
    effect: `(case when ${guard} then ${effect} end)`,
    lower: `(case when ${guard} then ${effect} - ${width} end)`,
    upper: `(case when ${guard} then ${effect} + ${width} end)`,
  };
}
