import { defineModel } from '../../src/models/model-definition.ts';
import { meanBoundsSql, sampleVarianceSql } from '../../src/stats/sql-intervals.ts';

/**
 * Daily trends per segment. Members are those *as of the end of that day*, from
 * segments.membership_history (entered before the day ended and not left by
 * then), not today's members, so a trend is not rewritten by who is in the
 * segment now. Days are reference times (reference_at: the data's clock each build
 * measured to), not build times. Membership history starts at the first build's
 * reference time: days before it have no members (only the 'all' row, everyone
 * signed up by then).
 *
 * Set-based in O(changes + active user-days): member counts are a running sum
 * of +1/−1 per entry/exit day, and cost to serve a running sum of ±daily rate
 * where a member's cost period starts and ends (a period's cost is spread evenly
 * over its days); activity is joined only on days a user was active, from
 * marts.user_days (recomputed for touched users only), not from every event. Never
 * days × users.
 */
const eventsPerActive = meanBoundsSql('active_users', 'events_per_active_user', sampleVarianceSql('active_users', 'events', 'events_squares'));

export default defineModel({
  name: 'marts.segment_daily',
  description:
    'One row per segment per day (UTC) from the first activity or signup to the day before as_of_at: members as of that day (from membership history), active members, events per active member with its 95% CI, members converting (an order that day), revenue and cost to serve of members that day. Definition "all" / segment "all users" covers everyone signed up by then.',
  owner: 'data-platform',
  tags: ['marts', 'segments'],
  tests: [{ unique_combination: ['definition', 'segment', 'day'] }],
  columns: {
    definition: { type: 'text', description: 'Segment definition; "all" for everyone', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment; "all users" for everyone', tests: ['not_null'] },
    day: { type: 'date', description: 'UTC day', tests: ['not_null'] },
    members: { type: 'bigint', description: 'Members at the end of the day', tests: ['not_null', { expression: 'members >= 0' }] },
    active_users: { type: 'bigint', description: 'Members with an event that day', tests: ['not_null'] },
    events: { type: 'bigint', description: 'Events of members that day', tests: ['not_null'] },
    events_per_active_user: { type: 'double precision', description: 'events / active_users' },
    events_per_active_user_ci_lower: { type: 'double precision', description: 'Student-t 95% CI lower bound (null below 2 active users)' },
    events_per_active_user_ci_upper: { type: 'double precision', description: 'Student-t 95% CI upper bound (null below 2 active users)' },
    conversions: { type: 'bigint', description: 'Members with an order (purchase or upgrade with revenue) that day', tests: ['not_null'] },
    conversion_rate: { type: 'double precision', description: 'conversions / members' },
    revenue_usd: { type: 'numeric', description: 'Net revenue of members that day (refunds deducted), USD', tests: ['not_null'] },
    cost_usd: { type: 'numeric', description: 'Cost to serve of members that day (a cost period spread evenly over its days), USD', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with as_of as (select max(as_of_at) as as_of_at from ${ref('features.user_features')}),
      users as (select user_key, coalesce(signed_up_at, first_seen_at) as started_at from ${ref('features.user_features')}),
      changes as (
        select user_key, definition, segment, change, reference_at,
               lead(reference_at) over (partition by user_key, definition, segment order by reference_at, changed_at, (change = 'entered')) as next_at
        from ${ref('segments.membership_history')}
      ),
      -- Segment membership spells: [entered day, left day). The 'all' group (everyone from signup) is one
      -- open spell per user, joined 1:1 below instead of through a join with every member's spells.
      spells as (
        select user_key, definition, segment, (reference_at at time zone 'UTC')::date as from_day, (next_at at time zone 'UTC')::date as to_day
        from changes where change = 'entered'
      ),
      all_spells as (
        select user_key, 'all'::text as definition, 'all users'::text as segment, (started_at at time zone 'UTC')::date as from_day, null::date as to_day
        from users where started_at is not null
      ),
      -- History starts with the first build's reference time: no segment spell covers an earlier day.
      history_start as (select min(from_day) as day from spells),
      -- A member's cost periods, cut to the spell: [from_day, to_day) at a daily rate.
      cost_spans as (
        select s.definition, s.segment, greatest(s.from_day, c.period_start) as from_day, least(s.to_day, c.period_end + 1) as to_day,
               c.cost_usd / (c.period_end - c.period_start + 1) as rate
        from spells s join ${ref('core.fct_costs')} c on c.user_key = s.user_key
        where c.period_end >= (select day from history_start) and c.period_end >= s.from_day and (s.to_day is null or c.period_start < s.to_day)
        union all
        select s.definition, s.segment, greatest(s.from_day, c.period_start), c.period_end + 1, c.cost_usd / (c.period_end - c.period_start + 1)
        from all_spells s join ${ref('core.fct_costs')} c on c.user_key = s.user_key
        where c.period_end >= s.from_day
      ),
      days as (
        select d::date as day
        from as_of a, generate_series(least((select min(day) from ${ref('marts.user_days')}), (select min(from_day) from all_spells), (select day from history_start)), (a.as_of_at at time zone 'UTC')::date - 1, interval '1 day') d
      ),
      deltas as (
        select definition, segment, from_day as day, count(*) as delta, 0::numeric as cost_delta from spells group by 1, 2, 3
        union all
        select definition, segment, from_day, count(*), 0 from all_spells group by 1, 2, 3
        union all
        select definition, segment, to_day, -count(*), 0 from spells where to_day is not null group by 1, 2, 3
        union all
        select definition, segment, from_day, 0, sum(rate) from cost_spans group by 1, 2, 3
        union all
        select definition, segment, to_day, 0, -sum(rate) from cost_spans group by 1, 2, 3
      ),
      -- Every group has a spell, so an entry delta: the few delta rows name every group.
      groups as (select distinct definition, segment from deltas),
      member_counts as (
        select g.definition, g.segment, d.day,
               (sum(coalesce(x.delta, 0)) over w)::bigint as members, sum(coalesce(x.cost_delta, 0)) over w as cost_usd
        from groups g cross join days d
        left join (select definition, segment, day, sum(delta) as delta, sum(cost_delta) as cost_delta from deltas group by 1, 2, 3) x
          on x.definition = g.definition and x.segment = g.segment and x.day = d.day
        window w as (partition by g.definition, g.segment order by d.day)
      ),
      member_days as (
        select s.definition, s.segment, p.day, p.events, p.orders, p.revenue_usd
        from spells s join ${ref('marts.user_days')} p on p.user_key = s.user_key and p.day >= s.from_day and (s.to_day is null or p.day < s.to_day)
        where p.day >= (select day from history_start)
        union all
        select s.definition, s.segment, p.day, p.events, p.orders, p.revenue_usd
        from all_spells s join ${ref('marts.user_days')} p on p.user_key = s.user_key and p.day >= s.from_day
      ),
      member_activity as (
        select definition, segment, day,
               count(*) filter (where events > 0) as active_users, sum(events) as events, sum(events * events) as events_squares,
               count(*) filter (where orders > 0) as conversions, sum(revenue_usd) as revenue_usd
        from member_days
        group by 1, 2, 3
      ),
      joined as (
        select m.definition, m.segment, m.day, m.members, coalesce(a.active_users, 0) as active_users, coalesce(a.events, 0)::bigint as events,
               coalesce(a.events_squares, 0) as events_squares, coalesce(a.conversions, 0) as conversions,
               coalesce(a.revenue_usd, 0) as revenue_usd, m.cost_usd,
               a.events::float8 / nullif(a.active_users, 0) as events_per_active_user
        from member_counts m left join member_activity a using (definition, segment, day)
      ),
      final as (
        select definition, segment, day, members, active_users, events, events_per_active_user,
               ${eventsPerActive.lower} as events_per_active_user_ci_lower, ${eventsPerActive.upper} as events_per_active_user_ci_upper,
               conversions, conversions::float8 / nullif(members, 0) as conversion_rate, revenue_usd, cost_usd
        from joined
      )
      select * from final`),
});
