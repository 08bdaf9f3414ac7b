import { defineModel, type DeltaContext } from '../../src/models/model-definition.ts';
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
 *
 * Incremental by (definition, segment, day) when the runner allows (delta from the changes its four inputs
 * keep, src/models/model-changes.ts): a row depends only on the inputs at or before its day, so the rows before
 * the first day any input changed stay, and the days from it are counted again, members and cost on from the
 * published running sums of the day before. Members change only with history, a start ('all') or a new day, and
 * cost also with a cost line: before those days the recounted rows keep their published members and cost, so
 * only the spells that reach them are folded (see recount). Otherwise, or when a group appears, every day is counted.
 * The first run after a full build counts history's first day, so every member (see fold_all): all of history is read
 * then, and only users with rows after its first build need the window.
 */
const DELTA_FROM = ['segments.membership_history', 'marts.user_days', 'features.user_features', 'core.fct_costs'];
/**
 * The first day whose row may change: the earliest day of an input change (a history row's reference time, a
 * user-day, a signup or first-seen time before or after, a cost period's start), the day after the last published
 * day, or the last day to publish now plus one (a reference time that moved back).
 */
const firstChangedDay = (delta: DeltaContext, features: string) =>
  `coalesce(least(${membersChangedDays(delta, features)}, ${activityChangedDay(delta)}, ${costChangedDay(delta)}), '-infinity'::date)`;
/** The days members can change from: a history row's reference time, a start before or after, a new or a dropped day. */
const membersChangedDays = (delta: DeltaContext, features: string) => `
        (select min((reference_at at time zone 'UTC')::date) from ${delta.changes['segments.membership_history']}),
        (select min((coalesce(signed_up_at, first_seen_at) at time zone 'UTC')::date) from ${delta.changes['features.user_features']}),
        (select max(day) + 1 from ${delta.this}),
        (select (max(as_of_at) at time zone 'UTC')::date from ${features})`;
const activityChangedDay = (delta: DeltaContext) => `(select min(day) from ${delta.changes['marts.user_days']})`;
const costChangedDay = (delta: DeltaContext) => `(select min(period_start) from ${delta.changes['core.fct_costs']})`;
const eventsPerActive = meanBoundsSql('active_users', 'events_per_active_user', sampleVarianceSql('active_users', 'events', 'events_squares'));

export default defineModel({
  name: 'marts.segment_daily',
  description:
    'One row per segment per day (UTC) from the first activity or signup to the day before as_of_at: members as of that day (from membership history), active members, events per active member with its 95% CI, members converting (an order that day), revenue and cost to serve of members that day. Definition "all" / segment "all users" covers everyone signed up by then.',
  owner: 'data-platform',
  tags: ['marts', 'segments'],
  tests: [{ unique_combination: ['definition', 'segment', 'day'] }],
  materialized: 'incremental',
  incremental: { uniqueKey: ['definition', 'segment', 'day'] },
  deltaFrom: DELTA_FROM,
  // The days from the first that changed go (a recount has them again); counted from scratch, every row.
  staleKeys: (knex, { incremental, delta, ref }) =>
    knex.raw(`select definition, segment, day from ${incremental!.this}${delta ? ` where day >= ${firstChangedDay(delta, ref('features.user_features').toQuery())}` : ''}`),
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
  build: (knex, { ref, delta }) => {
    const features = ref('features.user_features').toQuery();
    // Delta: a group not published yet needs every day. Groups only come (history is never deleted from), with an
    // entry appended to history: its kept changes name those rows, found by history's user_key index.
    const history = ref('segments.membership_history');
    const fromDay = delta
      ? `
      published_groups as (select distinct definition, segment from ${delta.this}),
      from_day as (
        select case when exists (
          select from ${delta.changes['segments.membership_history']} c
          join ${history} h on h.user_key = c.user_key and h.reference_at = c.reference_at
          where h.change = 'entered' and not exists (select from published_groups p where p.definition = h.definition and p.segment = h.segment)
        ) then '-infinity'::date else ${firstChangedDay(delta, 'as_of')} end as day
      ),
      -- Members are counted again from the first day they can change, cost from that or a cost line's day: before
      -- them the published members and cost stand (only activity changed there), when every day from from_day is published.
      recount as (
        select case when f.published then greatest(f.day, m.day) else f.day end as members_from,
               case when f.published then greatest(f.day, least(m.day, ${costChangedDay(delta)})) else f.day end as cost_from
        from (select day, day > (select min(day) from ${delta.this}) as published from from_day) f
        cross join (select least(${membersChangedDays(delta, 'as_of')}) as day) m
      ),
      -- No history row before members_from (the first run after a full build: history begins on the first day it
      -- publishes): every member enters on a day counted now, so every user is folded anyway; all of history is then
      -- read in one pass, not found by an index probe per user (the two branches of changes below).
      fold_all as (select coalesce((select min(reference_at) from ${history}) >= (members_from::timestamp at time zone 'UTC'), true) as yes from recount),
      -- Then only users with a row appended after history's first build (by history's changed_at index) need the window.
      later_users as (select distinct user_key from ${history} where changed_at > (select min(changed_at) from ${history})),
      -- The published rows from from_day, and so the running sums of the day before each recount (numeric: the sums go on exactly).
      published as (select definition, segment, day, members, cost_usd from ${delta.this} where day >= (select day from from_day) - 1),
      -- A spell contributes from from_day on only by an entry or exit from members_from, a cost span's bound from
      -- cost_from, or a member's day from from_day: its user has a history row, a cost period ending or a user-day
      -- then. The spells are folded for those users alone (all of each one's history, so each spell is the one a
      -- full build finds), not by a window over all of history.
      recent_days as materialized (select user_key, day, events, orders, revenue_usd from ${ref('marts.user_days')} where day >= (select day from from_day)),
      recent_costs as materialized (
        select user_key, period_start, period_end, cost_usd from ${ref('core.fct_costs')} where period_end >= (select cost_from from recount) - 1
      ),
      spell_users as (
        select user_key from ${history} where reference_at >= ((select members_from from recount)::timestamp at time zone 'UTC')
        union select user_key from recent_days
        union select user_key from recent_costs
      ),`
      : `
      from_day as (select '-infinity'::date as day),`;
    const userDays = delta ? 'recent_days' : ref('marts.user_days').toQuery();
    const costs = delta ? 'recent_costs' : ref('core.fct_costs').toQuery();
    const membersFrom = delta ? '(select members_from from recount)' : '(select day from from_day)';
    const costFrom = delta ? '(select cost_from from recount)' : '(select day from from_day)';
    // The first day of all: unchanged when every change is after the published one (no scan of user_days then).
    const firstDay = `least((select min(day) from ${ref('marts.user_days')}), (select min(from_day) from all_spells), (select day from history_start))`;
    const startDay = delta
      ? `case when (select day from from_day) > (select min(day) from ${delta.this}) then (select day from from_day) else greatest(${firstDay}, (select day from from_day)) end`
      : firstDay;
    return knex.raw(`
      with as_of as (select max(as_of_at) as as_of_at from ${features}),
      users as (select user_key, coalesce(signed_up_at, first_seen_at) as started_at from ${features}),${fromDay}
      changes as (
        select user_key, definition, segment, change, reference_at,
               lead(reference_at) over (partition by user_key, definition, segment order by reference_at, changed_at, (change = 'entered')) as next_at
        from ${delta ? `(
          select * from ${history} where (select yes from fold_all) and user_key in (select user_key from later_users)
          union all
          select * from ${history} where not (select yes from fold_all) and user_key = any(array(select user_key from spell_users))
        ) h
        union all
        -- The other users' rows are all from history's first build, which entered each current member once (current
        -- membership is unique by user, definition and segment): no row follows one, nothing to sort them for.
        select user_key, definition, segment, change, reference_at, null from ${history}
        where (select yes from fold_all) and user_key not in (select user_key from later_users)` : history}
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
      -- History starts with the first build's reference time: no segment spell covers an earlier day (the first
      -- spell's day, read by history's reference_at index).
      history_start as (select (min(reference_at) at time zone 'UTC')::date as day from ${history} where change = 'entered'),
      -- A member's cost periods, cut to the spell: [from_day, to_day) at a daily rate.
      cost_spans as (
        select s.definition, s.segment, greatest(s.from_day, c.period_start) as from_day, least(s.to_day, c.period_end + 1) as to_day,
               c.cost_usd / (c.period_end - c.period_start + 1) as rate
        from spells s join ${costs} c on c.user_key = s.user_key
        where c.period_end >= (select day from history_start) and c.period_end >= s.from_day and (s.to_day is null or c.period_start < s.to_day)
          and c.period_end >= ${costFrom} - 1
        union all
        select s.definition, s.segment, greatest(s.from_day, c.period_start), c.period_end + 1, c.cost_usd / (c.period_end - c.period_start + 1)
        from all_spells s join ${costs} c on c.user_key = s.user_key
        where c.period_end >= s.from_day and c.period_end >= ${costFrom} - 1
      ),
      days as (
        select d::date as day
        from as_of a, generate_series(${startDay}, (a.as_of_at at time zone 'UTC')::date - 1, interval '1 day') d
      ),
      deltas as (
        select definition, segment, from_day as day, count(*) as delta, 0::numeric as cost_delta from spells where from_day >= ${membersFrom} group by 1, 2, 3
        union all
        select definition, segment, from_day, count(*), 0 from all_spells where from_day >= ${membersFrom} group by 1, 2, 3
        union all
        select definition, segment, to_day, -count(*), 0 from spells where to_day >= ${membersFrom} group by 1, 2, 3
        union all
        select definition, segment, from_day, 0, sum(rate) from cost_spans where from_day >= ${costFrom} group by 1, 2, 3
        union all
        select definition, segment, to_day, 0, -sum(rate) from cost_spans where to_day >= ${costFrom} group by 1, 2, 3
      ),
      -- Every group has a spell, so an entry delta: the few delta rows name every group (from a day on: with the published ones).
      groups as (select distinct definition, segment from deltas${delta ? ' union select definition, segment from published_groups' : ''}),
      member_counts as (
        select g.definition, g.segment, d.day,${delta ? `
               case when d.day < ${membersFrom} then p.members else (coalesce(bm.members, 0) + sum(coalesce(x.delta, 0)) over w)::bigint end as members,
               case when d.day < ${costFrom} then p.cost_usd else coalesce(bc.cost_usd, 0) + sum(coalesce(x.cost_delta, 0)) over w end as cost_usd` : `
               (sum(coalesce(x.delta, 0)) over w)::bigint as members, sum(coalesce(x.cost_delta, 0)) over w as cost_usd`}
        from groups g cross join days d
        left join (select definition, segment, day, sum(delta) as delta, sum(cost_delta) as cost_delta from deltas group by 1, 2, 3) x
          on x.definition = g.definition and x.segment = g.segment and x.day = d.day${delta ? `
        left join published p on p.definition = g.definition and p.segment = g.segment and p.day = d.day
        left join published bm on bm.definition = g.definition and bm.segment = g.segment and bm.day = ${membersFrom} - 1
        left join published bc on bc.definition = g.definition and bc.segment = g.segment and bc.day = ${costFrom} - 1` : ''}
        window w as (partition by g.definition, g.segment order by d.day)
      ),
      member_days as (
        select s.definition, s.segment, p.day, p.events, p.orders, p.revenue_usd
        from spells s join ${userDays} p on p.user_key = s.user_key and p.day >= s.from_day and (s.to_day is null or p.day < s.to_day)
        where p.day >= (select day from history_start) and p.day >= (select day from from_day)
        union all
        select s.definition, s.segment, p.day, p.events, p.orders, p.revenue_usd
        from all_spells s join ${userDays} p on p.user_key = s.user_key and p.day >= s.from_day
        where p.day >= (select day from from_day)
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
      select * from final`);
  },
});
