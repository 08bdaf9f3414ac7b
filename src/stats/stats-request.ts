/**
 * The statistics module as JSON requests, for `seglayer stats compare | srm |
 * adjust`: anyone can feed published sufficient statistics in and check the
 * numbers that come out. Validation only (zod) and a call into the module; no
 * I/O here. Field names follow GrowthBook's gbstats (`n`, `successes`, `sum`,
 * `sum_squares`, `post`/`pre`/`post_pre_sum_of_products`,
 * `m`/`d`/`m_d_sum_of_products`).
 */
import { z } from 'zod';
import { UserError } from '../errors/user-error.js';
import { compareCuped } from './cuped.ts';
import { compare, type Comparison } from './effect-comparison.ts';
import { DEFAULT_ALPHA } from './interval.ts';
import { benjaminiHochberg, holm } from './multiple-testing.ts';
import { DEFAULT_SRM_THRESHOLD, sampleRatioMismatch } from './sample-ratio-mismatch.ts';
import { StatisticsError } from './statistics-error.ts';
import { summarizeBinomial, summarizeMean, summarizeRatio, type UnitSummary } from './sufficient-statistics.ts';
import type { Alternative } from './welch-test.ts';

const count = z.number().int().nonnegative();
const finite = z.number().finite();
const moments = z.strictObject({ sum: finite, sum_squares: finite });
const binomial = z.strictObject({ n: count, successes: count });
const mean = z.strictObject({ n: count, sum: finite, sum_squares: finite });
const cuped = z.strictObject({ n: count, post: moments, pre: moments, post_pre_sum_of_products: finite });
const ratio = z.strictObject({ n: count, m: moments, d: moments, m_d_sum_of_products: finite });

/** `sides` as the issue names them, mapped to R's names used inside the module. */
const SIDES: Record<'two' | 'greater' | 'lesser', Alternative> = { two: 'two-sided', greater: 'greater', lesser: 'less' };

const common = {
  alpha: z.number().gt(0).lt(1).default(DEFAULT_ALPHA),
  sides: z.enum(['two', 'greater', 'lesser']).default('two'),
  difference: z.enum(['absolute', 'relative']).default('relative'),
};

/** The envelope first; each group is then checked against the shape its metric type (and a `post` key, for CUPED) calls for, so errors name the field at fault. */
const compareSchema = z.strictObject({
  metric_type: z.enum(['binomial', 'mean', 'ratio']),
  control: z.record(z.string(), z.unknown()),
  treatment: z.record(z.string(), z.unknown()),
  ...common,
});

function groupSchema(metricType: 'binomial' | 'mean' | 'ratio', group: Record<string, unknown>) {
  if (metricType !== 'ratio' && 'post' in group) return cuped;
  return { binomial, mean, ratio }[metricType];
}

const srmSchema = z.strictObject({
  users: z.array(count).min(2),
  weights: z.array(z.number().positive().finite()).min(2),
  threshold: z.number().gt(0).lt(1).default(DEFAULT_SRM_THRESHOLD),
});

const adjustSchema = z.strictObject({
  p_values: z.array(z.number().min(0).max(1)),
  method: z.enum(['bh', 'holm']),
});

export interface CompareResponse {
  metric_type: 'binomial' | 'mean' | 'ratio';
  difference: 'absolute' | 'relative';
  sides: 'two' | 'greater' | 'lesser';
  effect: number;
  se: number;
  ci_lower: number;
  ci_upper: number;
  p_value: number;
  control_mean: number;
  treatment_mean: number;
  control_n: number;
  treatment_n: number;
  df: number;
  /** Present when the groups carried a pre-exposure covariate. */
  cuped?: { theta: number; variance_reduction: number };
}

/** A request that does not fit its schema: every problem at once, each with its JSON path. */
export class StatisticsRequestError extends UserError {}

function parse<T extends z.ZodType>(schema: T, input: unknown, path: string[] = []): z.output<T> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new StatisticsRequestError(
    parsed.error.issues.map((issue) => ({ code: issue.code, path: [...path, ...issue.path.map(String)], message: issue.message })),
    { heading: 'invalid request' },
  );
}

const isCuped = (group: object): group is z.output<typeof cuped> => 'post' in group;

/** Welch comparison of treatment against control, as GrowthBook's frequentist engine computes it (docs/statistics.md). */
export function compareRequest(input: unknown): CompareResponse {
  const request = parse(compareSchema, input);
  const options = { scale: request.difference, alternative: SIDES[request.sides], alpha: request.alpha };
  const control = parse(groupSchema(request.metric_type, request.control), request.control, ['control']);
  const treatment = parse(groupSchema(request.metric_type, request.treatment), request.treatment, ['treatment']);
  const head = { metric_type: request.metric_type, difference: request.difference, sides: request.sides };
  if (isCuped(control) || isCuped(treatment)) {
    if (!isCuped(control) || !isCuped(treatment)) {
      throw new StatisticsError('invalid_input', isCuped(control) ? 'treatment' : 'control', 'both groups need the pre-exposure covariate (post, pre, post_pre_sum_of_products) or neither');
    }
    const { theta, variance_reduction, ...result } = compareCuped(control, treatment, options);
    return { ...head, ...pick(result), cuped: { theta, variance_reduction } };
  }
  const summarize = (group: object, path: string): UnitSummary => {
    switch (request.metric_type) {
      case 'binomial': return summarizeBinomial(group as z.output<typeof binomial>, path);
      case 'mean': return summarizeMean(group as z.output<typeof mean>, path);
      case 'ratio': return summarizeRatio(group as z.output<typeof ratio>, path);
    }
  };
  return { ...head, ...pick(compare(summarize(control, 'control'), summarize(treatment, 'treatment'), options)) };
}

function pick(result: Comparison) {
  const { effect, se, ci_lower, ci_upper, p_value, control_mean, treatment_mean, control_n, treatment_n, df } = result;
  return { effect, se, ci_lower, ci_upper, p_value, control_mean, treatment_mean, control_n, treatment_n, df };
}

/** Pearson's chi-square test of the users per variant against the configured weights. */
export function srmRequest(input: unknown) {
  const { users, weights, threshold } = parse(srmSchema, input);
  return { ...sampleRatioMismatch(users, weights, threshold), threshold };
}

/** Adjusted p-values in input order (R's p.adjust "BH" or "holm"). */
export function adjustRequest(input: unknown) {
  const { p_values, method } = parse(adjustSchema, input);
  return { method, adjusted_p_values: method === 'bh' ? benjaminiHochberg(p_values) : holm(p_values) };
}

/** JSON with ±Infinity written as "inf" / "-inf" (JSON has no infinities; GrowthBook's results carry them as bounds of one-sided tests). */
export function statisticsJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v), 2);
}
