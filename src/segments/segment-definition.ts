/**
 * The documented schema of a segment definition (segments/*.yml). Every definition
 * says what the group is, who owns it, what we expect of it and how we will know.
 *
 *   family: behavioural           # the file's default family
 *   segments:
 *     - name: first_week_breadth   # snake_case, unique across all files
 *       title: Broad first week
 *       description: Used three or more features in the first week after signup
 *       owner: growth
 *       hypothesis: They upgrade more often than others; we will know from the upgrade rate per segment.
 *       version: 1                  # bump when the rule changes meaning
 *       kind: rule                  # rule | rfm | cluster
 *       rule: first_week_features >= 3
 *       refresh: each_build         # each_build | incremental (rule segments)
 */
import { z } from 'zod';

const identifier = z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'a snake_case name (letters, digits, _; at most 41 characters)');
/**
 * A definition's name. "all" is the definition of the marts' rows for everyone (segment_value,
 * cohort_retention, segment_daily, ...): a definition of that name would be counted into them.
 */
const definitionName = identifier.refine((name) => name !== 'all', '"all" is reserved: the marts\' rows for everyone use it');
export const FAMILIES = ['behavioural', 'demographic', 'geographic', 'psychographic', 'value'] as const;
export const REFRESH_POLICIES = ['each_build', 'incremental'] as const;
export type RefreshPolicy = (typeof REFRESH_POLICIES)[number];

/** Metrics a segment's claim may name, measured per user in a time window (marts.segment_validation). */
export const CLAIM_METRICS = ['upgrade_rate', 'conversion_rate', 'churn_rate', 'active_rate', 'revenue_per_user'] as const;

/**
 * The hypothesis as a testable claim: members do better (higher) or worse
 * (lower) on `metric` than all other users, in a training window and again in a
 * later holdout window. `segment` names the RFM band or cluster a claim is about
 * (a rule definition has one segment, its own name).
 */
const claim = z
  .object({
    metric: z.enum(CLAIM_METRICS),
    direction: z.enum(['higher', 'lower']),
    segment: identifier.optional(),
  })
  .strict();

const common = {
  name: definitionName,
  title: z.string().min(1).max(80),
  description: z.string().min(1),
  owner: z.string().min(1),
  hypothesis: z.string().min(1),
  claim: claim.optional(),
  version: z.number().int().min(1),
  family: z.enum(FAMILIES).optional(),
  /**
   * each_build (the default): every build recomputes the segment for every user.
   * incremental (rule segments): a build recomputes only the users its new load batches
   * touch and reuses the rest, falling back to every user when the reference time moved
   * (see src/segments/incremental-membership.ts for when and why).
   */
  refresh: z.enum(REFRESH_POLICIES).optional(),
};

const ruleSegment = z.object({ ...common, kind: z.literal('rule'), rule: z.string() }).strict();

/**
 * How one RFM dimension becomes a score 1–5:
 *   rank        quintiles of rank(): ties share a score (the default)
 *   qcut        equal-count bins on the values, edges at the 20/40/60/80th percentiles
 *               (linear interpolation), right-closed, duplicate edges dropped — pandas
 *               qcut(x, 5, duplicates='drop')
 *   rank_first  qcut of the rank with ties broken by user key — pandas
 *               qcut(x.rank(method='first'), 5) over customers in key order
 */
export const RFM_SCORINGS = ['rank', 'qcut', 'rank_first'] as const;
const rfmScoring = z.enum(RFM_SCORINGS);
/** as_of_at (the build's reference time), last_activity_at (the last recorded event or outcome), or an ISO timestamp. */
const rfmReference = z.union([
  z.enum(['as_of_at', 'last_activity_at']),
  z.iso.datetime({ offset: true, error: 'as_of_at, last_activity_at or an ISO timestamp such as 2011-12-10T00:00:00Z' }),
]);

const rfmBand = z.object({ name: identifier, title: z.string().min(1).optional(), description: z.string().min(1), rule: z.string() }).strict();
const rfmSegment = z
  .object({
    ...common,
    kind: z.literal('rfm'),
    rfm: z
      .object({
        /**
         * A numeric feature of days since the last order (fewer days score higher), or a
         * time feature (e.g. last_order_at): then recency is whole 24-hour days from it to `reference`.
         */
        recency: identifier,
        /** Any numeric feature, e.g. frequency (distinct orders) or order_lines. */
        frequency: identifier,
        /** Any numeric feature, e.g. monetary_usd. */
        monetary: identifier,
        /** One method for all three dimensions, or one per dimension; rank by default. */
        scoring: z
          .union([rfmScoring, z.object({ recency: rfmScoring.optional(), frequency: rfmScoring.optional(), monetary: rfmScoring.optional() }).strict()])
          .optional(),
        /** What a time recency feature is measured to; as_of_at by default. */
        reference: rfmReference.optional(),
        /** Who is scored (a rule); others are in no band. */
        population: z.string().optional(),
        /** Evaluated in order over scores r, f, m (1–5); the first that holds wins. */
        bands: z.array(rfmBand).min(1),
      })
      .strict(),
  })
  .strict();

/** `refit_after`: a whole number of hours, days or weeks. */
const REFIT_AFTER_PATTERN = /^(\d{1,4})([hdw])$/;
/**
 * A week of reference time: a cluster fit is reused (users scored against it) for up to
 * seven daily builds, the usual "fit weekly, score daily" cadence; behaviour mixes drift
 * over weeks, not days, while a fit costs a full k-means over every user.
 */
export const DEFAULT_REFIT_AFTER = '7d';

const clusterSegment = z
  .object({
    ...common,
    kind: z.literal('cluster'),
    cluster: z
      .object({
        k: z.number().int().min(2).max(20),
        seed: z.number().int().min(0),
        /** Numeric features, standardized (z-scores) before clustering. */
        features: z.array(identifier).min(1).max(20),
        iterations: z.number().int().min(1).max(200).default(30), // the most Lloyd steps; it stops earlier once converged
        population: z.string().optional(),
        /**
         * How old (in reference time) a fit may get before a build refits it: `<n>h`, `<n>d`
         * or `<n>w`; DEFAULT_REFIT_AFTER when absent, `0d` refits on every build. Between
         * refits a build scores new and changed users against the stored centroids
         * (segments.cluster_fits). Says when, not what: changing it keeps the version.
         */
        refit_after: z.string().regex(REFIT_AFTER_PATTERN, 'a span of reference time such as 12h, 7d or 2w (0d refits on every build)').optional(),
      })
      .strict(),
  })
  .strict();

export const segmentDefinition = z.discriminatedUnion('kind', [ruleSegment, rfmSegment, clusterSegment]);
export const segmentFile = z
  .object({
    family: z.enum(FAMILIES).optional(),
    segments: z.array(z.unknown()).min(1),
  })
  .strict();

export type SegmentDefinition = z.infer<typeof segmentDefinition> & { family: (typeof FAMILIES)[number]; file: string };
export type RuleSegment = Extract<SegmentDefinition, { kind: 'rule' }>;
export type RfmSegment = Extract<SegmentDefinition, { kind: 'rfm' }>;
export type RfmScoring = (typeof RFM_SCORINGS)[number];

/** The scoring method of each dimension, defaults filled in. */
export function rfmScorings(definition: RfmSegment): Record<'recency' | 'frequency' | 'monetary', RfmScoring> {
  const given = definition.rfm.scoring;
  const all = typeof given === 'string' ? given : undefined;
  const each = typeof given === 'object' ? given : {};
  return { recency: all ?? each.recency ?? 'rank', frequency: all ?? each.frequency ?? 'rank', monetary: all ?? each.monetary ?? 'rank' };
}
export type ClusterSegment = Extract<SegmentDefinition, { kind: 'cluster' }>;

/** A cluster definition's refit_after as a PostgreSQL interval ('7 days'), the default filled in. */
export function refitAfterInterval(definition: ClusterSegment): string {
  const [, amount, unit] = REFIT_AFTER_PATTERN.exec(definition.cluster.refit_after ?? DEFAULT_REFIT_AFTER)!;
  return `${amount} ${{ h: 'hours', d: 'days', w: 'weeks' }[unit as 'h' | 'd' | 'w']}`;
}

/** A definition's refresh policy, the default filled in. */
export const refreshPolicy = (definition: Pick<SegmentDefinition, 'refresh'>): RefreshPolicy => definition.refresh ?? 'each_build';

/** The segments a definition assigns users to: its own name (rule), its bands (RFM), cluster_1 … cluster_k. */
export function segmentsOf(definition: z.infer<typeof segmentDefinition>): string[] {
  if (definition.kind === 'rule') return [definition.name];
  if (definition.kind === 'rfm') return definition.rfm.bands.map((b) => b.name);
  return Array.from({ length: definition.cluster.k }, (_, i) => `cluster_${i + 1}`);
}
