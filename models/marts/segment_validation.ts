import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { CLAIM_METRICS } from '../../src/segments/segment-definition.ts';
import { relativeLiftSql, sampleVarianceSql } from '../../src/stats/sql-intervals.ts';

/** Per user and window: the value of each claim metric (SQL over the window's outcomes and events). */
const METRIC_VALUE: Record<(typeof CLAIM_METRICS)[number], string> = {
  upgrade_rate: 'upgraded::int',
  conversion_rate: 'ordered::int',
  churn_rate: 'churned::int',
  active_rate: 'active::int',
  revenue_per_user: 'revenue_usd',
};
const WINDOWS = ['training', 'holdout'] as const;

const lift = relativeLiftSql({ n: 'others_n', mean: 'others_value', variance: 'others_variance' }, { n: 'n', mean: 'value', variance: 'variance' });
const varianceOf = (n: string, sum: string, sumSquares: string) =>
  `case when metric = 'revenue_per_user' then ${sampleVarianceSql(n, sum, sumSquares)} else (${sum})::float8 / nullif(${n}, 0) * (1 - (${sum})::float8 / nullif(${n}, 0)) end`;

/**
 * The out-of-sample check of every segment claim (`claim:` in segments/*.yml):
 * the claimed metric among members against all other users, for the users who
 * signed up in a training window and again, as a separate sample, for those who
 * signed up in a later holdout window. Each user is measured over the same
 * follow-up, their first SEGLAYER_VALIDATION_FOLLOW_UP_DAYS days, so the holdout
 * window ends that many days before as_of_at (every user in it has been
 * followed up fully); before it lie SEGLAYER_VALIDATION_HOLDOUT_DAYS of holdout
 * signups and, before those, SEGLAYER_VALIDATION_TRAINING_DAYS of training
 * signups. Metrics over the follow-up: upgrade_rate (an upgrade),
 * conversion_rate (an order), churn_rate (a churn), active_rate (an event in its
 * second half), revenue_per_user (net revenue).
 *
 * Membership: as of the holdout start from segments.membership_history when the
 * history reaches back that far ("history"), else today's members ("current") —
 * then membership may itself depend on holdout behaviour, which the
 * membership_basis column makes visible.
 *
 * Verdict: not_enough_data when members or others fall below
 * SEGLAYER_MIN_SEGMENT_SIZE in either window or a lift is undefined; holds when
 * the lift's 95% CI lies wholly on the claimed side of 0 in both windows; fails
 * otherwise.
 */
export default (project: ProjectContent) => {
  const claims = project.segments.flatMap((d) => (d.claim ? [[d.name, d.claim.segment ?? d.name, d.claim.metric, d.claim.direction]] : []));
  const { trainingDays, holdoutDays, followUpDays } = project.settings.validationWindows;
  const minimum = project.settings.minSegmentSize;
  const windowColumns = (w: string) => ({
    [`${w}_start`]: { type: 'timestamptz', description: `Start of the ${w} signup window`, tests: ['not_null' as const] },
    [`${w}_n`]: { type: 'bigint', description: `Members counted in the ${w} window`, tests: ['not_null' as const] },
    [`${w}_value`]: { type: 'double precision', description: `Metric among members in the ${w} window` },
    [`${w}_others_n`]: { type: 'bigint', description: `Other users counted in the ${w} window`, tests: ['not_null' as const] },
    [`${w}_others_value`]: { type: 'double precision', description: `Metric among other users in the ${w} window` },
    [`${w}_lift`]: { type: 'double precision', description: `Relative lift of members over others in the ${w} window` },
    [`${w}_lift_ci_lower`]: { type: 'double precision', description: `Lift 95% CI lower bound, ${w} window` },
    [`${w}_lift_ci_upper`]: { type: 'double precision', description: `Lift 95% CI upper bound, ${w} window` },
  });
  return defineModel({
    name: 'marts.segment_validation',
    description:
      'One row per segment claim (metric, direction): the lift with its 95% CI among members against all other users, over each user’s first follow_up_days after signup, for the users who signed up in a training window and, separately, in a later holdout window; and a verdict: holds, fails or not_enough_data.',
    owner: 'data-platform',
    tags: ['marts', 'segments'],
    tests: [{ unique_combination: ['definition', 'segment'] }],
    columns: {
      definition: { type: 'text', description: 'Segment definition', tests: ['not_null'] },
      segment: { type: 'text', description: 'Segment the claim is about', tests: ['not_null'] },
      metric: { type: 'text', description: 'Claimed metric', tests: ['not_null', { accepted_values: [...CLAIM_METRICS] }] },
      direction: { type: 'text', description: 'higher or lower than all other users', tests: ['not_null', { accepted_values: ['higher', 'lower'] }] },
      membership_basis: { type: 'text', description: 'history (members as of the holdout start) or current (today’s members)', tests: ['not_null', { accepted_values: ['history', 'current'] }] },
      ...windowColumns('training'),
      ...windowColumns('holdout'),
      holdout_end: { type: 'timestamptz', description: 'End of the holdout signup window (as_of_at minus the follow-up)', tests: ['not_null'] },
      follow_up_days: { type: 'integer', description: 'Days after signup over which each user is measured', tests: ['not_null'] },
      minimum_size: { type: 'integer', description: 'Fewest members and others a window needs for a verdict', tests: ['not_null'] },
      verdict: { type: 'text', description: 'holds, fails or not_enough_data', tests: ['not_null', { accepted_values: ['holds', 'fails', 'not_enough_data'] }] },
    },
    build: (knex, { ref }) => {
      const claimValues = claims.length > 0 ? claims.map(() => '(?, ?, ?, ?)').join(', ') : '(null::text, null::text, null::text, null::text)';
      return knex.raw(
        `
      with claims as (select * from (values ${claimValues}) v(definition, segment, metric, direction) where definition is not null),
      as_of as (select max(as_of_at) as as_of_at from ${ref('features.user_features')}),
      -- The follow-up the per-user rows were measured over (marts.user_follow_up; the setting when it has none), so the
      -- windows match it even when this model is built alone after SEGLAYER_VALIDATION_FOLLOW_UP_DAYS changed.
      follow_up as (
        select make_interval(days => days) as length, days
        from (select coalesce((select max(follow_up_days) from ${ref('marts.user_follow_up')}), ?) as days) d
      ),
      windows as (
        select 'holdout'::text as window_name, a.as_of_at - f.length - make_interval(days => ?) as window_start, a.as_of_at - f.length as window_end
        from as_of a, follow_up f
        union all
        select 'training', a.as_of_at - f.length - make_interval(days => ? + ?), a.as_of_at - f.length - make_interval(days => ?) from as_of a, follow_up f
      ),
      -- Each windowed user's follow-up, read from marts.user_follow_up (computed per user, for touched users only on
      -- an incremental build): the windows end a follow-up before as_of_at, so every one of them has ended.
      user_windows as (
        select w.window_name, p.user_key, p.upgraded, p.ordered, p.churned, p.active, p.revenue_usd
        from ${ref('marts.user_follow_up')} p
        join windows w on p.started_at >= w.window_start and p.started_at < w.window_end
      ),
      history_reach as (   -- the definitions with history at or before the holdout start (read by the reference_at index; absent: false)
        select distinct h.definition, true as reaches
        from ${ref('segments.membership_history')} h where h.reference_at <= (select window_start from windows where window_name = 'holdout')
      ),
      history_members as (
        select distinct on (h.user_key, h.definition, h.segment) h.user_key, h.definition, h.segment, h.change
        from ${ref('segments.membership_history')} h
        where h.reference_at <= (select window_start from windows where window_name = 'holdout')
        order by h.user_key, h.definition, h.segment, h.reference_at desc, h.changed_at desc, (h.change = 'entered') desc
      ),
      claim_members as (
        select c.definition, c.segment, coalesce(r.reaches, false) as from_history, m.user_key
        from claims c left join history_reach r using (definition)
        join lateral (
          select user_key from history_members hm where coalesce(r.reaches, false) and hm.definition = c.definition and hm.segment = c.segment and hm.change = 'entered'
          union all
          select user_key from ${ref('segments.membership')} cm where not coalesce(r.reaches, false) and cm.definition = c.definition and cm.segment = c.segment
        ) m on true
      ),
      values_ as (
        select c.definition, c.segment, c.metric, c.direction, uw.window_name, cm.user_key is not null as is_member,
               (case c.metric ${Object.entries(METRIC_VALUE).map(([m, v]) => `when '${m}' then (${v})::numeric`).join(' ')} end) as x
        from claims c cross join user_windows uw
        left join claim_members cm on cm.definition = c.definition and cm.segment = c.segment and cm.user_key = uw.user_key
      ),
      sums as (
        select definition, segment, metric, direction, window_name,
               count(*) filter (where is_member) as n, sum(x) filter (where is_member) as sum, sum(x * x) filter (where is_member) as sum_squares,
               count(*) filter (where not is_member) as others_n, sum(x) filter (where not is_member) as others_sum, sum(x * x) filter (where not is_member) as others_sum_squares
        from values_ group by 1, 2, 3, 4, 5
      ),
      summaries as (
        select *, sum::float8 / nullif(n, 0) as value, ${varianceOf('n', 'sum', 'sum_squares')} as variance,
               others_sum::float8 / nullif(others_n, 0) as others_value, ${varianceOf('others_n', 'others_sum', 'others_sum_squares')} as others_variance
        from sums
      ),
      lifts as (
        select s.*, w.window_start, w.window_end, ${lift.effect} as lift, ${lift.lower} as lift_ci_lower, ${lift.upper} as lift_ci_upper
        from summaries s join windows w using (window_name)
      ),
      final as (
        select t.definition, t.segment, t.metric, t.direction,
               case when coalesce((select r.reaches from history_reach r where r.definition = t.definition), false) then 'history' else 'current' end as membership_basis,
               ${WINDOWS.map((w) => ['window_start as W_start', 'n as W_n', 'value as W_value', 'others_n as W_others_n', 'others_value as W_others_value', 'lift as W_lift', 'lift_ci_lower as W_lift_ci_lower', 'lift_ci_upper as W_lift_ci_upper'].map((c) => `${w[0]}.${c.replace('W_', `${w}_`)}`).join(', ')).join(',\n               ')},
               h.window_end as holdout_end, (select days from follow_up) as follow_up_days, ?::int as minimum_size,
               case when least(t.n, t.others_n, h.n, h.others_n) < ? or t.lift_ci_lower is null or h.lift_ci_lower is null then 'not_enough_data'
                    when t.direction = 'higher' and t.lift_ci_lower > 0 and h.lift_ci_lower > 0 then 'holds'
                    when t.direction = 'lower' and t.lift_ci_upper < 0 and h.lift_ci_upper < 0 then 'holds'
                    else 'fails' end as verdict
        from lifts t join lifts h using (definition, segment, metric, direction)
        where t.window_name = 'training' and h.window_name = 'holdout'
      )
      select * from final`,
        [...claims.flat(), followUpDays, holdoutDays, holdoutDays, trainingDays, holdoutDays, minimum, minimum],
      );
    },
  });
};
