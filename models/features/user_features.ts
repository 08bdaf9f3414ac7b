import { batchArray, touchedUserKeys } from '../../src/identity/touched-identities.ts';
import { rowsOfTouched } from '../../src/identity/touched-users-rows.ts';
import { defineModel } from '../../src/models/model-definition.ts';

/** RFM windows besides lifetime: one frequency and monetary column per window. */
export const RFM_WINDOWS = { '90d': '90 days', '365d': '365 days' } as const;
/** First-week behaviour: days 0–6 after signup. */
const FIRST_WEEK = '7 days';

const windowColumns = Object.entries(RFM_WINDOWS).flatMap(([suffix, interval]) => [
  `count(distinct order_id) filter (where is_order and occurred_at > as_of_at - interval '${interval}') as frequency_${suffix}`,
  `coalesce(sum(revenue_usd) filter (where is_order and occurred_at > as_of_at - interval '${interval}'), 0) as monetary_${suffix}_usd`,
]);
const windowDocs = Object.fromEntries(
  Object.entries(RFM_WINDOWS).flatMap(([suffix, interval]) => [
    [`frequency_${suffix}`, { type: 'bigint', description: `Distinct orders in the ${interval} before as_of_at` }],
    [`monetary_${suffix}_usd`, { type: 'numeric', description: `Order revenue in USD in the ${interval} before as_of_at` }],
  ]),
);

/*
 * Incremental by user, as core.dim_users: a build after new batches recomputes the
 * users they touch. Recency, tenure, age and the RFM windows are measured to the
 * reference time, so when it moves every user's row changes: the build then
 * recomputes every user (the honest answer, in one delete and insert).
 */
export default defineModel({
  name: 'features.user_features',
  description:
    'One row per canonical user: recency / frequency / monetary value, first-week behaviour, lifetime activity, value and cost, and the user attributes segments are defined over. Times are measured to as_of_at (core.reference_time: midnight UTC after the last recorded activity, or SEGLAYER_REFERENCE_TIME), never now(), so features are reproducible. Order features count order lines as configured (staging.stg_outcomes.is_order).',
  owner: 'data-platform',
  tags: ['features', 'segments'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  indexes: [['user_key']],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique', { relationships: { to: 'core.dim_users', field: 'user_key' } }] },
    as_of_at: { type: 'timestamptz', description: 'Reference time (core.reference_time): SEGLAYER_REFERENCE_TIME, else midnight UTC after the last event or outcome in the warehouse', tests: ['not_null'] },
    recency_days: { type: 'integer', description: 'Days from the last order (purchase or upgrade with revenue) to as_of_at; null without orders', tests: [{ expression: 'recency_days is null or recency_days >= 0' }] },
    frequency: { type: 'bigint', description: 'Distinct orders over the lifetime', tests: ['not_null'] },
    order_lines: { type: 'bigint', description: 'Order lines over the lifetime (rows of core.fct_outcomes with is_order; an invoice of 3 products is 3)', tests: ['not_null'] },
    first_order_at: { type: 'timestamptz', description: 'First order line (the first purchase)' },
    last_order_at: { type: 'timestamptz', description: 'Last order line' },
    monetary_usd: { type: 'numeric', description: 'Order revenue in USD over the lifetime (refunds not deducted)', tests: ['not_null'] },
    ...windowDocs,
    first_week_features: { type: 'bigint', description: 'Distinct features used (feature_used events) in days 0–6 after signup', tests: ['not_null'] },
    first_week_sessions: { type: 'bigint', description: 'Sessions in days 0–6 after signup', tests: ['not_null'] },
    first_week_active_days: { type: 'bigint', description: 'Days 0–6 after signup (24-hour days from the signup time) with an event', tests: ['not_null', { expression: 'first_week_active_days between 0 and 7' }] },
    active_days: { type: 'bigint', description: 'Days with at least one event, lifetime', tests: ['not_null'] },
    sessions: { type: 'bigint', description: 'Sessions, lifetime', tests: ['not_null'] },
    events: { type: 'bigint', description: 'Events, lifetime', tests: ['not_null'] },
    median_session_minutes: { type: 'double precision', description: 'Median session length in minutes (first to last event of a session)' },
    tenure_days: { type: 'integer', description: 'Days from signup (or first seen) to as_of_at' },
    first_seen_at: { type: 'timestamptz', description: 'First activity: event, outcome or signup, whichever is earliest' },
    last_seen_at: { type: 'timestamptz', description: 'Last event' },
    days_since_last_seen: { type: 'integer', description: 'Days from the last event to as_of_at' },
    revenue_usd: { type: 'numeric', description: 'Net revenue in USD, refunds deducted', tests: ['not_null'] },
    refunds_usd: { type: 'numeric', description: 'Refunded amount in USD, as a positive number', tests: ['not_null'] },
    cost_to_serve_usd: { type: 'numeric', description: 'Cost to serve in USD', tests: ['not_null'] },
    gross_margin_usd: { type: 'numeric', description: 'Net revenue minus cost to serve, USD', tests: ['not_null'] },
    has_churned: { type: 'boolean', description: 'A churn outcome was recorded', tests: ['not_null'] },
    is_identified: { type: 'boolean', description: 'The key belongs to a known user id', tests: ['not_null'] },
    signed_up_at: { type: 'timestamptz', description: 'Signup time' },
    cohort_month: { type: 'date', description: 'Month of signup (or first seen)' },
    first_seen_month: { type: 'date', description: 'First-seen cohort: month of first_seen_at (UTC)' },
    first_order_month: { type: 'date', description: 'First-purchase cohort: month of the first order line (UTC)' },
    plan: { type: 'text', description: 'Current plan (demographic / firmographic)' },
    birth_year: { type: 'integer', description: 'Birth year (demographic)' },
    age: { type: 'integer', description: 'Age in years at as_of_at (demographic)' },
    gender: { type: 'text', description: 'Gender (demographic)' },
    country: { type: 'text', description: 'Country (geographic)' },
    region: { type: 'text', description: 'Region (geographic)' },
    city: { type: 'text', description: 'City (geographic)' },
    locale: { type: 'text', description: 'Locale of the first event (geographic)' },
    acquisition_channel: { type: 'text', description: 'Acquisition channel' },
    first_device_type: { type: 'text', description: 'Device type of the first event' },
    first_os: { type: 'text', description: 'OS of the first event' },
  },
  staleKeys: (knex, { ref, incremental }) =>
    knex.raw(`select t.user_key from ${incremental!.this} t where not exists (select 1 from ${ref('core.dim_users')} u where u.user_key = t.user_key)`),
  build: (knex, { ref, incremental }) => {
    // An incremental build reads the touched users' rows only (subqueries, not CTEs, so a full build reads the tables
    // themselves). Tables indexed on user_key: `= any(array(...))`, index lookups (`in (select ...)` planned merge joins
    // over whole tables); the others: `in (select ...)`, a hashed semi-join (an array is compared linearly per row).
    const ofTouched = (relation: string, indexed = true) => rowsOfTouched(ref, relation, incremental, indexed);
    const fctEvents = ofTouched('core.fct_events');
    return knex.raw(`
      with as_of as (
        select as_of_at from ${ref('core.reference_time')}
      ),
      ${incremental ? `touched as (
        ${touchedUserKeys(ref, batchArray(knex, incremental.newBatches))}
        union   -- the reference time moved: every user's time-relative features change
        select u.user_key from ${ref('core.dim_users')} u
        where (select as_of_at from as_of) is distinct from (select max(t.as_of_at) from ${incremental.this} t)
      ),` : ''}
      outcomes as (   -- is_order: the configured notion of an order line (core.fct_outcomes)
        select o.*, a.as_of_at
        from ${ofTouched('core.fct_outcomes', false)} o cross join as_of a where o.user_key is not null
      ),
      value as (
        select user_key,
               max(occurred_at) filter (where is_order) as last_order_at,
               min(occurred_at) filter (where is_order) as first_order_at,
               count(distinct order_id) filter (where is_order) as frequency,
               count(*) filter (where is_order) as order_lines,
               coalesce(sum(revenue_usd) filter (where is_order), 0) as monetary_usd,
               ${windowColumns.join(',\n               ')},
               coalesce(sum(revenue_usd) filter (where is_revenue), 0) as revenue_usd,
               coalesce(sum(-revenue_usd) filter (where outcome_type = 'refund'), 0) as refunds_usd,
               bool_or(outcome_type = 'churn') as has_churned
        from outcomes group by user_key
      ),
      costs as (
        select user_key, sum(cost_usd) as cost_to_serve_usd from ${ofTouched('core.fct_costs', false)} c where user_key is not null group by user_key
      ),
      session_lengths as (
        select user_key, session_id, extract(epoch from max(occurred_at) - min(occurred_at)) / 60.0 as minutes
        from ${fctEvents} e group by user_key, session_id
      ),
      activity as (
        select e.user_key, count(*) as events, count(distinct e.session_id) as sessions,
               count(distinct (e.occurred_at at time zone 'UTC')::date) as active_days
        from ${fctEvents} e group by e.user_key
      ),
      first_week as (
        select e.user_key,
               count(distinct e.properties ->> 'feature') filter (where e.event = 'feature_used') as first_week_features,
               count(distinct e.session_id) as first_week_sessions,
               count(distinct floor(extract(epoch from e.occurred_at - u.signed_up_at) / 86400)) as first_week_active_days
        from ${fctEvents} e join ${ofTouched('core.dim_users')} u using (user_key)
        where e.occurred_at >= u.signed_up_at and e.occurred_at < u.signed_up_at + interval '${FIRST_WEEK}'
        group by e.user_key
      ),
      medians as (
        select user_key, percentile_cont(0.5) within group (order by minutes) as median_session_minutes from session_lengths group by user_key
      ),
      final as (
        select u.user_key, a.as_of_at,
               (a.as_of_at::date - (v.last_order_at at time zone 'UTC')::date) as recency_days,
               coalesce(v.frequency, 0) as frequency, coalesce(v.order_lines, 0) as order_lines, v.first_order_at, v.last_order_at,
               coalesce(v.monetary_usd, 0) as monetary_usd,
               ${Object.keys(RFM_WINDOWS).map((s) => `coalesce(v.frequency_${s}, 0) as frequency_${s}, coalesce(v.monetary_${s}_usd, 0) as monetary_${s}_usd`).join(', ')},
               coalesce(w.first_week_features, 0) as first_week_features, coalesce(w.first_week_sessions, 0) as first_week_sessions,
               coalesce(w.first_week_active_days, 0) as first_week_active_days,
               coalesce(act.active_days, 0) as active_days, coalesce(act.sessions, 0) as sessions, coalesce(act.events, 0) as events,
               m.median_session_minutes,
               (a.as_of_at::date - (coalesce(u.signed_up_at, u.first_seen_at) at time zone 'UTC')::date) as tenure_days,
               u.first_seen_at, u.last_seen_at,
               (a.as_of_at::date - (u.last_seen_at at time zone 'UTC')::date) as days_since_last_seen,
               coalesce(v.revenue_usd, 0) as revenue_usd, coalesce(v.refunds_usd, 0) as refunds_usd,
               coalesce(c.cost_to_serve_usd, 0) as cost_to_serve_usd,
               coalesce(v.revenue_usd, 0) - coalesce(c.cost_to_serve_usd, 0) as gross_margin_usd,
               coalesce(v.has_churned, false) as has_churned,
               u.is_identified, u.signed_up_at, u.cohort_month, u.first_seen_month, u.first_order_month, u.plan, u.birth_year,
               extract(year from a.as_of_at at time zone 'UTC')::int - u.birth_year as age,
               u.gender, u.country, u.region, u.city, u.locale, u.acquisition_channel, u.first_device_type, u.first_os
        from ${ofTouched('core.dim_users')} u
        cross join as_of a
        left join value v using (user_key)
        left join costs c using (user_key)
        left join activity act using (user_key)
        left join first_week w using (user_key)
        left join medians m using (user_key)
      )
      select * from final`);
  },
});
