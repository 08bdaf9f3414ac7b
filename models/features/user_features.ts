import type { Knex } from 'knex';
import { keysNotInDimUsers, rowsOfTouched, touchedUsers } from '../../src/identity/touched-users-rows.ts';
import { defineModel } from '../../src/models/model-definition.ts';
import { FACT_COLUMNS } from './user_facts.ts';

/** RFM windows besides lifetime: one frequency and monetary column per window. */
export const RFM_WINDOWS = { '90d': '90 days', '365d': '365 days' } as const;

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

/** The reference time differs from the one the published rows were measured to: every user's row changes. */
const referenceTimeMoved = (ref: (name: string) => Knex.Raw, published: Knex.Raw) =>
  `(select as_of_at from ${ref('core.reference_time')}) is distinct from (select max(as_of_at) from ${published})`;

/*
 * Incremental by user, as core.dim_users: a build after new batches recomputes the
 * users they touch. Recency, tenure, age and the RFM windows are measured to the
 * reference time, so when it moves every user's row changes: the build then
 * recomputes every user (rebuildWhen: built whole and swapped in), from features.user_facts
 * (what each user's events, outcomes and costs say, kept per touched user) and dim_users:
 * a pass over users, not events.
 */
export default defineModel({
  name: 'features.user_features',
  description:
    'One row per canonical user: recency / frequency / monetary value, first-week behaviour, lifetime activity, value and cost, and the user attributes segments are defined over. Times are measured to as_of_at (core.reference_time: midnight UTC after the last recorded activity, or SEGLAYER_REFERENCE_TIME), never now(), so features are reproducible. Order features count order lines as configured (staging.stg_outcomes.is_order).',
  owner: 'data-platform',
  tags: ['features', 'segments'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  keepChanges: { columns: ['user_key', 'signed_up_at', 'first_seen_at'] }, // marts.segment_daily recounts from the first day changed
  indexes: [['user_key']],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique', { relationships: { to: 'core.dim_users', field: 'user_key' } }] },
    as_of_at: { type: 'timestamptz', description: 'Reference time (core.reference_time): SEGLAYER_REFERENCE_TIME, else midnight UTC after the last event or outcome in the warehouse', tests: ['not_null'] },
    recency_days: { type: 'integer', description: 'Days from the last order (purchase or upgrade with revenue) to as_of_at; null without orders', tests: [{ expression: 'recency_days is null or recency_days >= 0' }] },
    frequency: FACT_COLUMNS.frequency,
    order_lines: FACT_COLUMNS.order_lines,
    first_order_at: FACT_COLUMNS.first_order_at,
    last_order_at: FACT_COLUMNS.last_order_at,
    monetary_usd: FACT_COLUMNS.monetary_usd,
    ...windowDocs,
    first_week_features: FACT_COLUMNS.first_week_features,
    first_week_sessions: FACT_COLUMNS.first_week_sessions,
    first_week_active_days: FACT_COLUMNS.first_week_active_days,
    active_days: FACT_COLUMNS.active_days,
    sessions: FACT_COLUMNS.sessions,
    events: FACT_COLUMNS.events,
    median_session_minutes: FACT_COLUMNS.median_session_minutes,
    tenure_days: { type: 'integer', description: 'Days from signup (or first seen) to as_of_at' },
    first_seen_at: { type: 'timestamptz', description: 'First activity: event, outcome or signup, whichever is earliest' },
    last_seen_at: { type: 'timestamptz', description: 'Last event' },
    days_since_last_seen: { type: 'integer', description: 'Days from the last event to as_of_at' },
    revenue_usd: FACT_COLUMNS.revenue_usd,
    refunds_usd: FACT_COLUMNS.refunds_usd,
    cost_to_serve_usd: FACT_COLUMNS.cost_to_serve_usd,
    gross_margin_usd: FACT_COLUMNS.gross_margin_usd,
    has_churned: FACT_COLUMNS.has_churned,
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
  // When the reference time moved, every user's row changes: built whole and swapped in (one write of the table, its
  // changes kept as a diff for segment_daily) rather than every row deleted and inserted again (100k users: 1.6 s).
  rebuildWhen: (knex, { ref, incremental }) =>
    knex.raw(`select ${referenceTimeMoved(ref, incremental!.this)} as rebuild, 'the reference time moved' as reason`),
  staleKeys: (knex, { ref, incremental }) => keysNotInDimUsers(knex, ref, incremental!),
  build: (knex, { ref, incremental }) => {
    // A pass over users: what their events, outcomes and costs say is features.user_facts (kept for touched users);
    // here only the reference time is applied, plus the RFM windows over the outcomes of the longest window.
    // Users and facts joined to `touched` (estimated from its parts): read by index (`= any(array(...))`), each was guessed
    // at 10 rows and the two were nested-looped, every user against every user (133 s when the reference time moved, 20k users).
    // The windows once (materialized): planned under a join whose touched-user count the planner guesses at 1, they were
    // re-aggregated for every user (42 s for 2,114 users).
    const ofTouched = (relation: string, indexed = true) => rowsOfTouched(ref, relation, incremental, indexed);
    const windows = Object.values(RFM_WINDOWS).map((interval) => `interval '${interval}'`).join(', ');
    return knex.raw(`
      with as_of as (
        select as_of_at from ${ref('core.reference_time')}
      ),
      ${incremental ? `touched as (
        ${touchedUsers(knex, ref, incremental)}
        union   -- the reference time moved: every user's time-relative features change (rebuildWhen builds it whole then)
        select u.user_key from ${ref('core.dim_users')} u
        where ${referenceTimeMoved(ref, incremental.this)}
      ),` : ''}
      windows as materialized (   -- is_order: the configured notion of an order line (core.fct_outcomes)
        select o.user_key, ${windowColumns.join(',\n               ')}
        from ${ofTouched('core.fct_outcomes', false)} o cross join as_of a
        where o.user_key is not null and o.is_order and o.occurred_at > a.as_of_at - greatest(${windows})
        group by o.user_key
      ),
      final as (
        select u.user_key, a.as_of_at,
               (a.as_of_at::date - (x.last_order_at at time zone 'UTC')::date) as recency_days,
               x.frequency, x.order_lines, x.first_order_at, x.last_order_at, x.monetary_usd,
               ${Object.keys(RFM_WINDOWS).map((s) => `coalesce(w.frequency_${s}, 0) as frequency_${s}, coalesce(w.monetary_${s}_usd, 0) as monetary_${s}_usd`).join(', ')},
               x.first_week_features, x.first_week_sessions, x.first_week_active_days, x.active_days, x.sessions, x.events, x.median_session_minutes,
               (a.as_of_at::date - (coalesce(u.signed_up_at, u.first_seen_at) at time zone 'UTC')::date) as tenure_days,
               u.first_seen_at, u.last_seen_at,
               (a.as_of_at::date - (u.last_seen_at at time zone 'UTC')::date) as days_since_last_seen,
               x.revenue_usd, x.refunds_usd, x.cost_to_serve_usd, x.gross_margin_usd, x.has_churned,
               u.is_identified, u.signed_up_at, u.cohort_month, u.first_seen_month, u.first_order_month, u.plan, u.birth_year,
               extract(year from a.as_of_at at time zone 'UTC')::int - u.birth_year as age,
               u.gender, u.country, u.region, u.city, u.locale, u.acquisition_channel, u.first_device_type, u.first_os
        from ${incremental ? `touched t join ${ref('core.dim_users')} u using (user_key)` : `${ref('core.dim_users')} u`}
        cross join as_of a
        join ${ref('features.user_facts')} x using (user_key)
        left join windows w using (user_key)
      )
      select * from final`);
  },
});
