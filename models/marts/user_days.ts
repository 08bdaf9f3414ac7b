import { DELTA_FROM, userDaysChangedFrom } from '../../src/identity/user-days-changed-from.ts';
import { goneKeys } from '../../src/identity/touched-users-rows.ts';
import { defineModel } from '../../src/models/model-definition.ts';

/**
 * The per-user half of marts.segment_daily: each user's activity per UTC day (events, orders,
 * net revenue). A function of the user's own events and outcomes only, not of the reference
 * time (a reference-time move changes none of them), so an incremental build recomputes each user's
 * days only from the first one the new batches can change (src/identity/user-days-changed-from.ts:
 * their events' and outcomes' days, those of the copies they displace, every day of a user an identity
 * joined or left), and segment_daily joins membership spells with these rows instead of grouping every
 * event on every build. The day's first and last event let segment_validation decide "an event
 * between two instants" from these rows too.
 */
export default defineModel({
  name: 'marts.user_days',
  description: 'One row per user and UTC day with an event or outcome: events, orders (a purchase or upgrade with revenue) and net revenue (refunds deducted) that day, the day’s first and last event, and its first order. What marts.segment_daily counts per segment, marts.segment_validation reads for activity and marts.user_activity_periods groups into weeks and months.',
  owner: 'data-platform',
  tags: ['marts', 'segments'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  // With the day: a touched user's days from their first changed day on are read and replaced without the rest.
  indexes: [['user_key', 'day']],
  // Which identities changed key this run (their users' days are replaced whole) and which kept event copies new
  // batches displaced (their old days).
  deltaFrom: DELTA_FROM,
  // Read by marts.segment_daily (it recounts from the first day changed) and marts.user_activity_periods (what its
  // periods are made of: events > 0 and orders > 0 follow from the first times).
  keepChanges: { columns: ['user_key', 'day', 'events', 'orders', 'revenue_usd', 'first_event_at', 'first_order_at'] },
  tests: [{ unique_combination: ['user_key', 'day'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    day: { type: 'date', description: 'UTC day', tests: ['not_null'] },
    events: { type: 'bigint', description: 'Events of the user that day', tests: ['not_null', { expression: 'events >= 0' }] },
    orders: { type: 'bigint', description: 'Orders (purchase or upgrade with revenue) of the user that day', tests: ['not_null', { expression: 'orders >= 0' }] },
    revenue_usd: { type: 'numeric', description: 'Net revenue of the user that day (refunds deducted), USD', tests: ['not_null'] },
    first_event_at: { type: 'timestamptz', description: 'The first event of the user that day (null when the day has outcomes only)' },
    last_event_at: {
      type: 'timestamptz',
      description: 'The last event of the user that day (null when the day has outcomes only)',
      tests: [{ expression: '(first_event_at is null) = (last_event_at is null) and (last_event_at is null or last_event_at >= first_event_at)' }],
    },
    first_order_at: { type: 'timestamptz', description: 'The first order of the user that day (null without one): when marts.user_activity_periods counts a purchase', tests: [{ expression: '(first_order_at is null) = (orders = 0)' }] },
  },
  // A key merged away is a key an identity left: with the identity map's changes, its range is every row already.
  staleKeys: (knex, { ref, incremental, delta }) => knex.raw(delta ? 'select null::text as user_key where false' : goneKeys(ref, incremental!)),
  replaceFrom: {
    column: 'day',
    keys: (knex, { ref, incremental, delta }) => knex.raw(userDaysChangedFrom(knex, ref, incremental!, delta)),
  },
  build: (knex, { ref, incremental }) => {
    // Incremental: each replaced user's events (one index range each) and outcomes from their first replaced day on.
    const events = incremental
      ? `(select e.user_key, e.occurred_at from starts s
          cross join lateral (select e.user_key, e.occurred_at from ${ref('core.fct_events')} e where e.user_key = s.user_key and e.occurred_at >= s.from_at offset 0) e)`
      : ref('core.fct_events');
    const outcomes = incremental
      ? `(select o.* from ${ref('core.fct_outcomes')} o join starts s on s.user_key = o.user_key and o.occurred_at >= s.from_at)`
      : ref('core.fct_outcomes');
    return knex.raw(`
      with ${incremental ? `starts as (select user_key, coalesce(replace_from::timestamp at time zone 'UTC', '-infinity') as from_at from ${incremental.replaced}),` : ''}
      activity as (
        select user_key, (occurred_at at time zone 'UTC')::date as day, count(*) as events, 0::bigint as orders, 0::numeric as revenue_usd,
               min(occurred_at) as first_event_at, max(occurred_at) as last_event_at, null::timestamptz as first_order_at
        from ${events} e where user_key is not null group by 1, 2
        union all
        select user_key, (occurred_at at time zone 'UTC')::date, 0, count(*) filter (where outcome_type in ('purchase', 'upgrade') and revenue_usd > 0),
               coalesce(sum(revenue_usd) filter (where is_revenue), 0), null::timestamptz, null::timestamptz,
               min(occurred_at) filter (where outcome_type in ('purchase', 'upgrade') and revenue_usd > 0)
        from ${outcomes} o where user_key is not null group by 1, 2
      ),
      final as (
        select user_key, day, sum(events)::bigint as events, sum(orders)::bigint as orders, sum(revenue_usd) as revenue_usd,
               min(first_event_at) as first_event_at, max(last_event_at) as last_event_at, min(first_order_at) as first_order_at
        from activity group by 1, 2
      )
      select * from final`);
  },
});
