import { defineModel } from '../../src/models/model-definition.ts';
import { relativeLiftSql, welchDfSql, wilsonBoundsSql } from '../../src/stats/sql-intervals.ts';

/** Outcome kinds whose paths are compared. */
export const PATH_OUTCOMES = ['upgrade', 'purchase'] as const;
/** Longest path (events). */
export const MAX_PATH_LENGTH = 4;
/** Only events in this window before the end of a user's path count. */
export const PATH_LOOKBACK = '30 days';
/** Paths kept per outcome, length and segment, by users. */
export const TOP_PATHS = 25;
/** Joins the events of a path. */
export const PATH_SEPARATOR = ' > ';

const share = (users: string, total: string) => wilsonBoundsSql(total, users);
const converted = share('converted_users', 'converted_total');
const stalled = share('stalled_users', 'stalled_total');
const rate = wilsonBoundsSql('users', 'converted_users');
const stalledSummary = { n: 'stalled_total', mean: 'share_stalled', variance: 'share_stalled * (1 - share_stalled)' };
const convertedSummary = { n: 'converted_total', mean: 'share_converted', variance: 'share_converted * (1 - share_converted)' };
const lift = relativeLiftSql(stalledSummary, convertedSummary, undefined, 'lift_df');

/**
 * Paths that lead to an outcome vs paths that stall. A user's path is the last
 * k (1–4) consecutive distinct events (repeats collapsed: a a b → a b) in the
 * 30 days before its end: for a converted user the end is their first outcome
 * of the kind (events strictly before it), for a stalled user (never had it) their
 * last event (included). share_converted = converted users with the path / all
 * converted users with a path of that length; share_stalled likewise; lift =
 * share_converted / share_stalled − 1 with a delta-method CI (relativeLiftSql).
 *
 * Each user's paths are marts.user_paths (recomputed for touched users only), counted per
 * segment in marts.segment_path_counts (by delta when it may); this model keeps the top paths.
 */
export default defineModel({
  name: 'marts.segment_paths',
  description:
    'Top paths (last 1–4 consecutive distinct events) before a user’s first outcome of a kind (upgrade, purchase) against the same among stalled users who never reached it, per segment: users, share of converted and of stalled users with the path (Wilson 95% CIs), lift of the share with its 95% CI, and the conversion rate among users with the path.',
  owner: 'data-platform',
  tags: ['marts', 'segments'],
  tests: [{ unique_combination: ['outcome', 'path_length', 'definition', 'segment', 'path'] }],
  columns: {
    outcome: { type: 'text', description: 'Outcome kind the path leads to (or stalls before)', tests: ['not_null', { accepted_values: [...PATH_OUTCOMES] }] },
    path_length: { type: 'integer', description: 'Events in the path (1–4)', tests: ['not_null', { expression: `path_length between 1 and ${MAX_PATH_LENGTH}` }] },
    path: { type: 'text', description: `Events in order, joined by "${PATH_SEPARATOR.trim()}"`, tests: ['not_null'] },
    definition: { type: 'text', description: 'Segment definition (current membership); "all" for everyone', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment; "all users" for everyone', tests: ['not_null'] },
    path_rank: { type: 'integer', description: `Rank by users within outcome, length and segment (top ${TOP_PATHS} kept)`, tests: ['not_null'] },
    users: { type: 'bigint', description: 'Users whose path this is', tests: ['not_null'] },
    converted_users: { type: 'bigint', description: 'Of them, users who reached the outcome', tests: ['not_null'] },
    stalled_users: { type: 'bigint', description: 'Of them, users who never reached it', tests: ['not_null'] },
    converted_total: { type: 'bigint', description: 'Converted users with a path of this length in the segment', tests: ['not_null'] },
    stalled_total: { type: 'bigint', description: 'Stalled users with a path of this length in the segment', tests: ['not_null'] },
    share_converted: { type: 'double precision', description: 'converted_users / converted_total' },
    share_converted_ci_lower: { type: 'double precision', description: 'Wilson 95% CI lower bound' },
    share_converted_ci_upper: { type: 'double precision', description: 'Wilson 95% CI upper bound' },
    share_stalled: { type: 'double precision', description: 'stalled_users / stalled_total' },
    share_stalled_ci_lower: { type: 'double precision', description: 'Wilson 95% CI lower bound' },
    share_stalled_ci_upper: { type: 'double precision', description: 'Wilson 95% CI upper bound' },
    lift: { type: 'double precision', description: 'share_converted / share_stalled − 1' },
    lift_ci_lower: { type: 'double precision', description: 'Lift 95% CI lower bound (delta method, Welch df)' },
    lift_ci_upper: { type: 'double precision', description: 'Lift 95% CI upper bound (delta method, Welch df)' },
    conversion_rate: { type: 'double precision', description: 'converted_users / users', tests: ['not_null'] },
    conversion_rate_ci_lower: { type: 'double precision', description: 'Wilson 95% CI lower bound', tests: ['not_null'] },
    conversion_rate_ci_upper: { type: 'double precision', description: 'Wilson 95% CI upper bound', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with counts as (select * from ${ref('marts.segment_path_counts')}),
      totals as (   -- every cell's group totals, and which could rank in the top: one sort by group and users
        select *, sum(converted_users) over w as converted_total, sum(stalled_users) over w as stalled_total,
               rank() over (w order by users desc) as users_rank
        from counts
        window w as (partition by outcome, path_length, definition, segment)
      ),
      ranked as (   -- ties on users broken by path among those only: sorting every cell by path too took twice as long
        select *, row_number() over (partition by outcome, path_length, definition, segment order by users desc, path) as path_rank
        from totals where users_rank <= ${TOP_PATHS}
      ),
      shares as (
        select *, converted_users::float8 / nullif(converted_total, 0) as share_converted, stalled_users::float8 / nullif(stalled_total, 0) as share_stalled
        from ranked where path_rank <= ${TOP_PATHS}
        offset 0   -- computed once per row here, not re-derived in every reference below (as lift_df is)
      ),
      welch as (select *, ${welchDfSql(stalledSummary, convertedSummary)} as lift_df from shares offset 0),
      final as (
        select outcome, path_length, path, definition, segment, path_rank::int, users, converted_users, stalled_users,
               converted_total::bigint, stalled_total::bigint,
               share_converted, ${converted.lower} as share_converted_ci_lower, ${converted.upper} as share_converted_ci_upper,
               share_stalled, ${stalled.lower} as share_stalled_ci_lower, ${stalled.upper} as share_stalled_ci_upper,
               ${lift.effect} as lift, ${lift.lower} as lift_ci_lower, ${lift.upper} as lift_ci_upper,
               converted_users::float8 / users as conversion_rate, ${rate.lower} as conversion_rate_ci_lower, ${rate.upper} as conversion_rate_ci_upper
        from welch
      )
      select * from final`),
});
