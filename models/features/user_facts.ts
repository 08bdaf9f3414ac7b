import { APPENDED_FROM, appendedUsersOf } from '../../src/identity/appended-users.ts';
import { keysNotInDimUsers, rowsOfTouched, touchedCte } from '../../src/identity/touched-users-rows.ts';
import { defineModel, type ModelInput } from '../../src/models/model-definition.ts';

const EVENTS = 'core.fct_events';

/** First-week behaviour: days 0–6 after signup. */
const FIRST_WEEK = '7 days';
/** Months after signup at which observed LTV is measured (marts.segment_value). */
export const LTV_MONTHS = [1, 3, 6, 12] as const;
/** Months after signup whose activity counts as retention (the whole calendar-length month m → m + 1; marts.segment_value). */
export const RETENTION_MONTHS = [1, 3] as const;

/** The columns features.user_features repeats, documented once. */
export const FACT_COLUMNS = {
  frequency: { type: 'bigint', description: 'Distinct orders over the lifetime', tests: ['not_null'] },
  order_lines: { type: 'bigint', description: 'Order lines over the lifetime (rows of core.fct_outcomes with is_order; an invoice of 3 products is 3)', tests: ['not_null'] },
  first_order_at: { type: 'timestamptz', description: 'First order line (the first purchase)' },
  last_order_at: { type: 'timestamptz', description: 'Last order line' },
  monetary_usd: { type: 'numeric', description: 'Order revenue in USD over the lifetime (refunds not deducted)', tests: ['not_null'] },
  first_week_features: { type: 'bigint', description: 'Distinct features used (feature_used events) in days 0–6 after signup', tests: ['not_null'] },
  first_week_sessions: { type: 'bigint', description: 'Sessions in days 0–6 after signup', tests: ['not_null'] },
  first_week_active_days: { type: 'bigint', description: 'Days 0–6 after signup (24-hour days from the signup time) with an event', tests: ['not_null', { expression: 'first_week_active_days between 0 and 7' }] },
  active_days: { type: 'bigint', description: 'Days with at least one event, lifetime', tests: ['not_null'] },
  sessions: { type: 'bigint', description: 'Sessions, lifetime', tests: ['not_null'] },
  events: { type: 'bigint', description: 'Events, lifetime', tests: ['not_null'] },
  median_session_minutes: { type: 'double precision', description: 'Median session length in minutes (first to last event of a session)' },
  revenue_usd: { type: 'numeric', description: 'Net revenue in USD, refunds deducted', tests: ['not_null'] },
  refunds_usd: { type: 'numeric', description: 'Refunded amount in USD, as a positive number', tests: ['not_null'] },
  cost_to_serve_usd: { type: 'numeric', description: 'Cost to serve in USD', tests: ['not_null'] },
  gross_margin_usd: { type: 'numeric', description: 'Net revenue minus cost to serve, USD', tests: ['not_null'] },
  has_churned: { type: 'boolean', description: 'A churn outcome was recorded', tests: ['not_null'] },
} satisfies ModelInput['columns'];

/*
 * The half of a user's features that depends on their own events, outcomes and costs only,
 * never on the reference time: incremental by user_key for the users new batches touch
 * (src/identity/touched-users-rows.ts), as marts.user_paths. features.user_features and
 * marts.segment_value apply the reference time (recency, windows, "is month m over") to
 * these rows, so a moved reference time costs a pass over users, not over every event.
 * A touched user whose only change is new events after all their stored ones
 * (src/identity/appended-users.ts) gets their stored events and active days plus the new
 * events' (days other than their last stored event's); the first week again only when a new
 * event falls in it; a month's activity as stored or by a new event in it; sessions and the
 * median session length from their sessions again (a median cannot be combined), and their
 * outcomes and costs as stored. Every other touched user is recomputed.
 */
/** A session's (or day's) length in minutes, over its events. */
const MINUTES = 'extract(epoch from max(occurred_at) - min(occurred_at)) / 60.0';
/** Per session and per UTC day of `events` (a FROM clause, alias e), grouped by `key` as well: events and, per session, its minutes. */
const perSessionAndDay = (events: string, key: string) => `
          select ${key}grouping(day) = 1 as is_session, count(*) as events, ${MINUTES} as minutes
          from (select e.user_key, e.session_id, (e.occurred_at at time zone 'UTC')::date as day, e.occurred_at from ${events}) e
          group by grouping sets ((${key}session_id), (${key}day))`;
/** A user's events, sessions, active days and median session length, over perSessionAndDay's rows. */
const ACTIVITY = `sum(events) filter (where is_session)::bigint as events, count(*) filter (where is_session) as sessions,
               count(*) filter (where not is_session) as active_days,
               percentile_cont(0.5) within group (order by minutes) filter (where is_session) as median_session_minutes`;

export default defineModel({
  name: 'features.user_facts',
  description:
    "One row per canonical user: lifetime activity, orders, value and cost, first-week behaviour, and revenue and activity in the first months after signup — what the user's own events, outcomes and costs say, not measured to the reference time. features.user_features and marts.segment_value read it.",
  owner: 'data-platform',
  tags: ['features'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  indexes: [['user_key']],
  // Appended users are read from fct_events' and the map's kept changes; without them every touched user is recomputed.
  deltaFrom: [...APPENDED_FROM],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique', { relationships: { to: 'core.dim_users', field: 'user_key' } }] },
    ...FACT_COLUMNS,
    ...Object.fromEntries(LTV_MONTHS.map((m) => [`revenue_first_${m}m_usd`, { type: 'numeric', description: `Net revenue in USD before signup (or first seen) + ${m} month(s), whether or not that time has come`, tests: ['not_null'] }])),
    ...Object.fromEntries(RETENTION_MONTHS.map((m) => [`is_active_month_${m}`, { type: 'boolean', description: `An event in month ${m} after signup (or first seen): [start + ${m} months, start + ${m + 1} months)`, tests: ['not_null'] }])),
  },
  // Only the keys merged away: every touched user is in core.dim_users, so the query returns a row for each (they are replaced
  // by key), and computing the touched set a second time here cost ~0.1 s of the incremental round. One row per user: the
  // anti-join of the whole table (50-60 ms) is cheaper here than goneKeys' lookups (touched-users-rows.ts).
  staleKeys: (knex, { ref, incremental }) => keysNotInDimUsers(knex, ref, incremental!),
  build: (knex, { ref, incremental, delta }) => {
    const firstWeek = `(e.occurred_at >= u.signed_up_at and e.occurred_at < u.signed_up_at + interval '${FIRST_WEEK}')`;
    const inMonth = (m: number) => `e.occurred_at >= u.started_at + interval '${m} months' and e.occurred_at < u.started_at + interval '${m + 1} months'`;
    const sinceStartWhere = `${firstWeek}
           or (e.occurred_at >= u.started_at + interval '${Math.min(...RETENTION_MONTHS)} months' and e.occurred_at < u.started_at + interval '${Math.max(...RETENTION_MONTHS) + 1} months')`;
    const sinceStartColumns = `count(distinct e.properties ->> 'feature') filter (where e.event = 'feature_used' and ${firstWeek}) as first_week_features,
               count(distinct e.session_id) filter (where ${firstWeek}) as first_week_sessions,
               count(distinct floor(extract(epoch from e.occurred_at - u.signed_up_at) / 86400)) filter (where ${firstWeek}) as first_week_active_days,
               ${RETENTION_MONTHS.map((m) => `bool_or(${inMonth(m)}) as is_active_month_${m}`).join(',\n               ')}`;
    // Per user (alias u: user_key, signed_up_at, started_at), by index: the activity and since_start of all their events.
    const activityOf = `cross join lateral (select ${ACTIVITY} from (${perSessionAndDay(`${ref(EVENTS)} e where e.user_key = u.user_key`, '')}) s) a`;
    const sinceStartOf = `cross join lateral (
          select ${sinceStartColumns} from ${ref(EVENTS)} e where e.user_key = u.user_key and (${sinceStartWhere})) w`;
    // With kept changes, appended users are combined (appended) and the other touched users recomputed.
    const combined = incremental && delta;
    const recomputed = combined ? 'recomputed' : 'users';
    // On an incremental build, the recomputed users' rows only (see rowsOfTouched for the two ways of reading them): an
    // appended user's outcomes and costs are as stored (no new batch of those sources names them, their identities are
    // unchanged), so they are not read (fct_costs' rows of every touched user were ~0.1 s of the round).
    const ofRecomputed = (relation: string, indexed = true) => rowsOfTouched(ref, relation, incremental, indexed, combined ? 'recomputed' : 'touched');
    const appended = combined ? `
      appended as materialized (   -- appended users: their stored row, start, and what their new events add: days other than
                                   -- their last stored event's, and the windows they fall in
        -- Laterals from the appended users, by index (their new events too: fct_events from the first on): their count is
        -- guessed at a few rows, and joins planned on that rescanned them per row.
        select f.*, u.signed_up_at, u.started_at, a.new_events, n.*
        from (${appendedUsersOf(knex, ref, incremental, delta)}) a
        cross join lateral (select signed_up_at, coalesce(signed_up_at, first_seen_at) as started_at from ${ref('core.dim_users')} u where u.user_key = a.user_key) u
        cross join lateral (select * from ${incremental.this} f where f.user_key = a.user_key) f
        cross join lateral (
          select count(distinct (e.occurred_at at time zone 'UTC')::date) filter (where (e.occurred_at at time zone 'UTC')::date <> (a.last_old_at at time zone 'UTC')::date) as new_days,
                 coalesce(bool_or(${firstWeek}), false) as in_first_week,
                 ${RETENTION_MONTHS.map((m) => `coalesce(bool_or(${inMonth(m)}), false) as in_month_${m}`).join(', ')}
          from ${ref(EVENTS)} e where e.user_key = a.user_key and e.occurred_at >= a.first_new_at) n
      ),
      recomputed as (select * from users where user_key not in (select user_key from appended)),` : '';
    return knex.raw(`
      with ${incremental ? `${touchedCte(knex, ref, incremental)},` : ''}
      users as (
        -- Joined to touched, not read as = any(array(...)): that is guessed at 10 users, and every join below would plan on it.
        select user_key, signed_up_at, coalesce(signed_up_at, first_seen_at) as started_at
        from ${incremental ? `touched t join ${ref('core.dim_users')} u using (user_key)` : `${ref('core.dim_users')} u`}
      ),${appended}
      value as (   -- is_order: the configured notion of an order line (core.fct_outcomes)
        select o.user_key,
               max(o.occurred_at) filter (where o.is_order) as last_order_at,
               min(o.occurred_at) filter (where o.is_order) as first_order_at,
               count(distinct o.order_id) filter (where o.is_order) as frequency,
               count(*) filter (where o.is_order) as order_lines,
               coalesce(sum(o.revenue_usd) filter (where o.is_order), 0) as monetary_usd,
               coalesce(sum(o.revenue_usd) filter (where o.is_revenue), 0) as revenue_usd,
               ${LTV_MONTHS.map((m) => `coalesce(sum(o.revenue_usd) filter (where o.is_revenue and o.occurred_at < u.started_at + interval '${m} months'), 0) as revenue_first_${m}m_usd`).join(',\n               ')},
               coalesce(sum(-o.revenue_usd) filter (where o.outcome_type = 'refund'), 0) as refunds_usd,
               bool_or(o.outcome_type = 'churn') as has_churned
        from ${ofRecomputed('core.fct_outcomes', false)} o join ${recomputed} u using (user_key)
        group by o.user_key${combined ? `
        union all   -- appended users: as stored
        select user_key, last_order_at, first_order_at, frequency, order_lines, monetary_usd, revenue_usd,
               ${LTV_MONTHS.map((m) => `revenue_first_${m}m_usd`).join(', ')}, refunds_usd, has_churned
        from appended` : ''}
      ),
      costs as (
        select user_key, sum(cost_usd) as cost_to_serve_usd from ${ofRecomputed('core.fct_costs')} c where user_key is not null group by user_key${combined ? `
        union all   -- appended users: as stored
        select user_key, cost_to_serve_usd from appended` : ''}
      ),
      activity as (   -- per session and per day in one pass over the events (each read the touched users' events again), then per user
        select ${incremental ? 'u.user_key, a.*' : `user_key, ${ACTIVITY}`}
        ${incremental ? `-- incremental: per touched user (lateral, by index), rather than a hash of all their sessions and days and a sort of it
        from ${recomputed} u ${activityOf}`
        : `from (${perSessionAndDay(`${ref('core.fct_events')} e`, 'user_key, ')}) s group by user_key`}${combined ? `
        union all   -- appended users: stored counts plus the new events'; the median over all their sessions again (it cannot be
                    -- combined), which counts them too (a probe of the last stored session, to count the new ones, cost as much);
                    -- index-only: fct_events' (user_key, occurred_at, session_id) index holds all it reads
        select u.user_key, u.events + u.new_events, m.sessions, u.active_days + u.new_days, m.median_session_minutes
        from appended u
        cross join lateral (select count(*) as sessions, percentile_cont(0.5) within group (order by minutes) as median_session_minutes
          from (select ${MINUTES} as minutes from ${ref(EVENTS)} e where e.user_key = u.user_key group by e.session_id) s) m` : ''}
      ),
      since_start as (   -- the first week after signup and the months after the start (for retention), in one pass over the user's events
        ${incremental ? `select u.user_key, w.*
        -- Incremental: per touched user, one index lookup and its aggregate (lateral): joined, with the touched count known (the
        -- run's table), the planner hashed all 1.15M events for 110k; a lateral scan grouped after it sorted those 110k rows.
        -- Over no events the counts are 0 and bool_or null, as the final coalesce makes a missing row.
        from ${recomputed} u ${sinceStartOf}` : `select e.user_key, ${sinceStartColumns}
        from ${ref('core.fct_events')} e join users u using (user_key) where ${sinceStartWhere}
        group by e.user_key`}${combined ? `
        union all   -- appended users with a new event in their first week: again
        select u.user_key, w.* from appended u ${sinceStartOf}
        where u.in_first_week
        union all   -- the others: their first week as stored, a month active as stored or by a new event in it
        select u.user_key, u.first_week_features, u.first_week_sessions, u.first_week_active_days,
               ${RETENTION_MONTHS.map((m) => `u.is_active_month_${m} or u.in_month_${m}`).join(', ')}
        from appended u
        where not u.in_first_week` : ''}
      ),
      final as (
        select u.user_key,
               coalesce(v.frequency, 0) as frequency, coalesce(v.order_lines, 0) as order_lines, v.first_order_at, v.last_order_at,
               coalesce(v.monetary_usd, 0) as monetary_usd,
               coalesce(w.first_week_features, 0) as first_week_features, coalesce(w.first_week_sessions, 0) as first_week_sessions,
               coalesce(w.first_week_active_days, 0) as first_week_active_days,
               coalesce(act.active_days, 0) as active_days, coalesce(act.sessions, 0) as sessions, coalesce(act.events, 0) as events,
               act.median_session_minutes,
               coalesce(v.revenue_usd, 0) as revenue_usd, coalesce(v.refunds_usd, 0) as refunds_usd,
               coalesce(c.cost_to_serve_usd, 0) as cost_to_serve_usd,
               coalesce(v.revenue_usd, 0) - coalesce(c.cost_to_serve_usd, 0) as gross_margin_usd,
               coalesce(v.has_churned, false) as has_churned,
               ${LTV_MONTHS.map((m) => `coalesce(v.revenue_first_${m}m_usd, 0) as revenue_first_${m}m_usd`).join(', ')},
               ${RETENTION_MONTHS.map((m) => `coalesce(w.is_active_month_${m}, false) as is_active_month_${m}`).join(', ')}
        from users u
        left join value v using (user_key)
        left join costs c using (user_key)
        left join activity act using (user_key)
        left join since_start w using (user_key)
      )
      select * from final`);
  },
});
