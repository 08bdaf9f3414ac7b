/**
 * The documented schema of a change that was not randomised (changes/*.yml, one
 * change per file): a release, the segment it reached and a group to compare
 * with, measured in a window before and a window after the release. Every value
 * that reaches SQL (segment names, event names, outcome types, dates, days) is bound.
 *
 *   name: mobile_share_sheet              # the change key in marts.change_effects
 *   title: Native share sheet on mobile
 *   description: Reports can be shared from the mobile app's share sheet.
 *   owner: growth
 *   released_at: 2025-10-01               # a date (00:00 UTC that day) or an ISO timestamp
 *   exposed: { definition: mobile_users } # the segment the change reached (segment: defaults to the definition's name)
 *   comparison: { definition: desktop_users }   # another segment, or: everyone_else
 *   pre_days: 28                          # window before the release (whole weeks feed the parallel-trends check)
 *   post_days: 28                         # window from the release on
 *   metrics:
 *     - name: shared_a_report
 *       type: binomial                    # did it happen in the window
 *       measure: { events: [report_shared] }
 *     - name: revenue_usd
 *       type: mean                        # value per user in the window (zeros included)
 *       measure: { outcomes: [purchase, upgrade], value: revenue_usd }
 */
import { z } from 'zod';
import { measureSchema } from '../experiments/experiment-definition.ts';

const identifier = z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'a snake_case name (letters, digits, _; at most 41 characters)');

/** A date (YYYY-MM-DD, meaning 00:00 UTC) or an ISO 8601 timestamp with its offset. */
const releaseTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/, 'a date (YYYY-MM-DD) or a timestamp with its offset (2025-10-01T09:00:00Z)')
  .refine((text) => {
    // Date.parse rolls 2025-02-30 over to March: the calendar date must survive the round trip.
    if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return true; // the format's own message says what is wrong
    const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
    const day = new Date(Date.UTC(y, m - 1, d));
    return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === text.slice(0, 10) && !Number.isNaN(Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text));
  }, 'not a real date')
  .transform((text) => new Date(text.length === 10 ? `${text}T00:00:00Z` : text).toISOString());

/** A segment: `definition` from segments/*.yml, `segment` within it (a rule definition's one segment is its own name). */
export const segmentReferenceSchema = z.strictObject({ definition: identifier, segment: identifier.optional() });
export type SegmentReference = z.output<typeof segmentReferenceSchema>;

export const EVERYONE_ELSE = 'everyone_else';

export const changeMetricSchema = z.discriminatedUnion('type', [
  z.strictObject({ name: identifier, title: z.string().min(1).max(80).optional(), type: z.literal('binomial'), measure: measureSchema }),
  z.strictObject({ name: identifier, title: z.string().min(1).max(80).optional(), type: z.literal('mean'), measure: measureSchema }),
]);
export type ChangeMetric = z.output<typeof changeMetricSchema>;

export const changeSchema = z.strictObject({
  name: identifier,
  title: z.string().min(1).max(80),
  description: z.string().min(1),
  owner: z.string().min(1),
  /** When the change reached users: pre window [released_at − pre_days, released_at), post [released_at, released_at + post_days). */
  released_at: releaseTime,
  exposed: segmentReferenceSchema,
  /** Another segment, or every other user (`everyone_else`). Users in both groups count as exposed only. */
  comparison: z.union([z.literal(EVERYONE_ELSE), segmentReferenceSchema]),
  /** At least two whole weeks, so the pre-period has a trend to compare. */
  pre_days: z.number().int().min(14, 'at least 14 days: the parallel-trends check needs two whole weeks before the release').max(365),
  post_days: z.number().int().min(1).max(365),
  /** Significance level for intervals and tests (two-sided). */
  alpha: z.number().gt(0).lt(1).default(0.05),
  metrics: z.array(changeMetricSchema).min(1),
});

export type ChangeDefinition = Omit<z.output<typeof changeSchema>, 'exposed' | 'comparison'> & {
  /** Segment filled in (a rule definition's own name when not given). */
  exposed: Required<SegmentReference>;
  comparison: typeof EVERYONE_ELSE | Required<SegmentReference>;
  file: string;
};
