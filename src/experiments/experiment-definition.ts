/**
 * The documented schema of an experiment (experiments/*.yml, one experiment per
 * file). Every value that reaches SQL (experiment key, variant names, event
 * names, outcome types) is bound; everything else is an allowlisted keyword.
 *
 *   name: onboarding_checklist       # the experiment key in core.fct_experiment_assignments
 *   title: Onboarding checklist
 *   hypothesis: A checklist after signup raises upgrades on mobile.
 *   owner: growth
 *   control: control                 # which variant is control
 *   variants:                        # every variant with its planned share of users (for SRM)
 *     - { name: control, weight: 1 }
 *     - { name: treatment, weight: 1 }
 *   window_days: 30                  # analysis window after exposure (first assignment)
 *   metrics:
 *     - name: upgraded
 *       type: binomial               # did it happen within the window
 *       measure: { outcomes: [upgrade] }
 *     - name: revenue_usd
 *       type: mean                   # value per exposed user (zeros included)
 *       measure: { outcomes: [purchase, upgrade], value: revenue_usd }
 *       cuped: true                  # covariate: the same measure in the window before exposure
 *     - name: features_per_session
 *       type: ratio                  # ΣM / ΣD over users (delta method)
 *       numerator: { events: [feature_used] }
 *       denominator: { events: [session_started], value: sessions }
 *   segments: [mobile_users, desktop_users]   # segment definitions (segments/*.yml) to break down by
 */
import { z } from 'zod';

const identifier = z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'a snake_case name (letters, digits, _; at most 41 characters)');
/** Names of things in the data (variants, events, outcome types): bound as values, so only length and non-emptiness matter. */
const dataName = z.string().min(1).max(200);

/**
 * What is counted or summed per user in a window. From core.fct_outcomes:
 * `count` rows of the given types or sum `revenue_usd`. From core.fct_events:
 * `count` events of the given names or count distinct `sessions` with them.
 */
export const measureSchema = z.union([
  z.strictObject({ outcomes: z.array(dataName).min(1), value: z.enum(['count', 'revenue_usd']).default('count') }),
  z.strictObject({ events: z.array(dataName).min(1), value: z.enum(['count', 'sessions']).default('count') }),
]);
export type Measure = z.output<typeof measureSchema>;

const metricCommon = {
  name: identifier,
  title: z.string().min(1).max(80).optional(),
  /** CUPED: use the same measure over the `window_days` before exposure as the covariate (GrowthBook's default covariate). */
  cuped: z.boolean().default(false),
};

export const metricSchema = z.discriminatedUnion('type', [
  z.strictObject({ ...metricCommon, type: z.literal('binomial'), measure: measureSchema }),
  z.strictObject({ ...metricCommon, type: z.literal('mean'), measure: measureSchema }),
  z.strictObject({ ...metricCommon, type: z.literal('ratio'), numerator: measureSchema, denominator: measureSchema }),
]);
export type ExperimentMetric = z.output<typeof metricSchema>;

export const experimentSchema = z.strictObject({
  name: identifier,
  title: z.string().min(1).max(80),
  hypothesis: z.string().min(1),
  owner: z.string().min(1),
  control: dataName,
  variants: z.array(z.strictObject({ name: dataName, weight: z.number().positive().finite() })).min(2),
  window_days: z.number().int().min(1).max(365),
  /** Significance level for intervals and tests (two-sided). */
  alpha: z.number().gt(0).lt(1).default(0.05),
  /** Correction across the segments × metrics of the experiment (GrowthBook's default is none; ours is BH). */
  correction: z.enum(['bh', 'holm']).default('bh'),
  metrics: z.array(metricSchema).min(1),
  segments: z.array(identifier).default([]),
});

export type ExperimentDefinition = z.output<typeof experimentSchema> & { file: string };
