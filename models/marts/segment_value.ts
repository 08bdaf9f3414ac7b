import { defineModel } from '../../src/models/model-definition.ts';
import { meanBoundsSql, relativeLiftSql, sampleVarianceSql, welchDfSql, wilsonBoundsSql } from '../../src/stats/sql-intervals.ts';
import { LTV_MONTHS, RETENTION_MONTHS } from '../features/user_facts.ts';

export { LTV_MONTHS, RETENTION_MONTHS };

/** Active: an event in the last 30 days before as_of_at. */
const ACTIVE_WINDOW = '30 days';

/**
 * Every metric: its kind and, per user, its value, null when the user is not
 * in the metric's population (e.g. not yet 6 months old for ltv_6m).
 */
const METRICS: { metric: string; kind: 'proportion' | 'mean'; value: string; description: string }[] = [
  { metric: 'active_rate', kind: 'proportion', value: 'is_active::int', description: `Share with an event in the ${ACTIVE_WINDOW} before as_of_at` },
  { metric: 'conversion_rate', kind: 'proportion', value: 'is_paying::int', description: 'Share with at least one order (paying users)' },
  { metric: 'churn_rate', kind: 'proportion', value: 'has_churned::int', description: 'Share with a churn outcome' },
  ...RETENTION_MONTHS.map((m) => ({
    metric: `retention_month_${m}`,
    kind: 'proportion' as const,
    value: `retained_month_${m}`,
    description: `Share with an event in month ${m} after signup, among users whose month ${m} has ended`,
  })),
  { metric: 'revenue_per_user', kind: 'mean', value: 'revenue_usd', description: 'Net revenue (USD, refunds deducted) per user' },
  { metric: 'revenue_per_active_user', kind: 'mean', value: 'case when is_active then revenue_usd end', description: 'Net revenue per active user' },
  { metric: 'arppu', kind: 'mean', value: 'case when is_paying then revenue_usd end', description: 'Net revenue per paying user' },
  ...LTV_MONTHS.map((m) => ({
    metric: `ltv_${m}m`,
    kind: 'mean' as const,
    value: `ltv_${m}m`,
    description: `Cumulative net revenue in the first ${m} month(s) after signup, among users at least ${m} month(s) old`,
  })),
  { metric: 'cost_to_serve_per_user', kind: 'mean', value: 'cost_to_serve_usd', description: 'Cost to serve (USD) per user' },
  { metric: 'gross_margin_per_user', kind: 'mean', value: 'gross_margin_usd', description: 'Net revenue minus cost to serve, per user' },
];
export const SEGMENT_VALUE_METRICS = METRICS.map((m) => m.metric);

const segment = { n: 'n', mean: 'mean', variance: 'variance' };
const others = { n: 'others_n', mean: 'others_mean', variance: 'others_variance' };
const wilson = wilsonBoundsSql('n', 'sum');
const meanBounds = meanBoundsSql('n', 'mean', 'variance');
const lift = relativeLiftSql(others, segment, undefined, 'lift_df');
const varianceOf = (n: string, sum: string, sumSquares: string) =>
  `case when kind = 'proportion' then (${sum})::float8 / nullif(${n}, 0) * (1 - (${sum})::float8 / nullif(${n}, 0)) else ${sampleVarianceSql(n, sum, sumSquares)} end`;

export default defineModel({
  name: 'marts.segment_value',
  description:
    'What each segment is worth: one row per definition × segment × metric (plus definition "all", segment "all users"), each with its n, estimate and 95% CI (Wilson for proportions, Student t for means) and its relative lift against all other users with a Welch 95% CI. Sufficient statistics (n, sum, sum of squares) are kept so any figure can be recomputed. Formulas: docs/statistics.md.',
  owner: 'data-platform',
  tags: ['marts', 'segments'],
  tests: [{ unique_combination: ['definition', 'segment', 'metric'] }],
  columns: {
    definition: { type: 'text', description: 'Segment definition; "all" for every user', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment; "all users" for every user', tests: ['not_null'] },
    metric: { type: 'text', description: 'Metric name', tests: ['not_null', { accepted_values: METRICS.map((m) => m.metric) }] },
    metric_kind: { type: 'text', description: 'proportion (Wilson interval) or mean (Student t interval)', tests: ['not_null', { accepted_values: ['proportion', 'mean'] }] },
    members: { type: 'bigint', description: 'Current members of the segment', tests: ['not_null'] },
    n: { type: 'bigint', description: "Users in the metric's population within the segment", tests: ['not_null'] },
    sum: { type: 'numeric', description: 'Σx over those users (successes for a proportion)', tests: ['not_null'] },
    sum_squares: { type: 'numeric', description: 'Σx² over those users', tests: ['not_null'] },
    value: { type: 'double precision', description: 'Estimate: Σx / n', tests: ['not_null'] },
    ci_lower: { type: 'double precision', description: '95% CI lower bound (null below 2 users for a mean)' },
    ci_upper: { type: 'double precision', description: '95% CI upper bound (null below 2 users for a mean)' },
    others_n: { type: 'bigint', description: "Users in the metric's population outside the segment (null for all users)" },
    others_value: { type: 'double precision', description: 'Estimate among all other users' },
    lift: { type: 'double precision', description: 'Relative lift (value − others_value) / others_value' },
    lift_ci_lower: { type: 'double precision', description: 'Lift 95% CI lower bound (delta method, Welch df)' },
    lift_ci_upper: { type: 'double precision', description: 'Lift 95% CI upper bound (delta method, Welch df)' },
    as_of_at: { type: 'timestamptz', description: 'Reference time of the build (features.user_features.as_of_at)', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with users as (   -- per-user facts from features.user_facts; only "is the period over by as_of_at" is decided here
        select f.user_key, f.as_of_at,
               coalesce(f.last_seen_at > f.as_of_at - interval '${ACTIVE_WINDOW}', false) as is_active,
               f.frequency > 0 as is_paying, f.has_churned, f.revenue_usd, f.cost_to_serve_usd, f.gross_margin_usd,
               ${LTV_MONTHS.map((m) => `case when coalesce(f.signed_up_at, f.first_seen_at) + interval '${m} months' <= f.as_of_at then x.revenue_first_${m}m_usd end as ltv_${m}m`).join(',\n               ')},
               ${RETENTION_MONTHS.map((m) => `case when coalesce(f.signed_up_at, f.first_seen_at) + interval '${m + 1} months' <= f.as_of_at then x.is_active_month_${m}::int end as retained_month_${m}`).join(',\n               ')}
        from ${ref('features.user_features')} f join ${ref('features.user_facts')} x using (user_key)
      ),
      -- x_i: the user's value of METRICS[i], null outside its population; xx_i its square, once per user rather than
      -- once per group row. A proportion's 0/1 sums in bigint, then numeric: the same exact value as a numeric sum.
      user_metrics as materialized (
        select user_key, ${METRICS.map((m, i) => (m.kind === 'proportion' ? `(${m.value})::int as x_${i}, (${m.value})::int * (${m.value})::int as xx_${i}` : `(${m.value})::numeric as x_${i}, (${m.value})::numeric * (${m.value})::numeric as xx_${i}`)).join(',\n               ')}
        from users
      ),
      groups as (
        select user_key, definition, segment from ${ref('segments.membership')}
        union all
        select user_key, 'all', 'all users' from users
      ),
      -- One row per group with every metric's n, Σx and Σx² side by side (a pass over members, not members × metrics),
      -- then one row per group and metric with users in its population.
      wide as (
        select g.definition, g.segment, count(*) as members,
               ${METRICS.map((_, i) => `count(x_${i}) as n_${i}, sum(x_${i})::numeric as sum_${i}, sum(xx_${i})::numeric as sum_squares_${i}`).join(',\n               ')}
        from groups g left join user_metrics u using (user_key)
        group by 1, 2
      ),
      sizes as (select definition, segment, members from wide),
      sums as (
        select w.definition, w.segment, m.metric, m.kind, m.n, m.sum, m.sum_squares
        from wide w
        cross join lateral (values ${METRICS.map((m, i) => `('${m.metric}', '${m.kind}', w.n_${i}, w.sum_${i}, w.sum_squares_${i})`).join(', ')}) m(metric, kind, n, sum, sum_squares)
        where m.n > 0
      ),
      with_others as (
        select s.*, case when s.definition <> 'all' then t.n - s.n end as others_n,
               t.sum - s.sum as others_sum, t.sum_squares - s.sum_squares as others_sum_squares
        from sums s join sums t on t.definition = 'all' and t.metric = s.metric
      ),
      summaries as (
        select *, sum::float8 / n as mean, ${varianceOf('n', 'sum', 'sum_squares')} as variance,
               others_sum::float8 / nullif(others_n, 0) as others_mean,
               ${varianceOf('others_n', 'others_sum', 'others_sum_squares')} as others_variance
        from with_others
        offset 0   -- each mean and variance computed once, not in every reference below (as lift_df is)
      ),
      welch as (select *, ${welchDfSql(others, segment)} as lift_df from summaries offset 0),
      final as (
        select s.definition, s.segment, s.metric, s.kind as metric_kind, z.members, s.n, s.sum, s.sum_squares, s.mean as value,
               case when s.kind = 'proportion' then ${wilson.lower} else ${meanBounds.lower} end as ci_lower,
               case when s.kind = 'proportion' then ${wilson.upper} else ${meanBounds.upper} end as ci_upper,
               s.others_n, s.others_mean as others_value,
               ${lift.effect} as lift, ${lift.lower} as lift_ci_lower, ${lift.upper} as lift_ci_upper,
               (select max(as_of_at) from users) as as_of_at
        from welch s join sizes z using (definition, segment)
      )
      select * from final`),
});
