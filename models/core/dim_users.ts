import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'core.dim_users',
  description:
    'One row per canonical user: identified users and anonymous visitors. Attributes from the latest identify; device and acquisition from the first event.',
  owner: 'data-platform',
  tags: ['users'],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique'] },
    user_id: { type: 'text', description: 'Canonical user id (null for anonymous visitors)' },
    is_identified: { type: 'boolean', description: 'True when the key belongs to a known user id', tests: ['not_null'] },
    first_seen_at: { type: 'timestamptz', description: 'First event, or signup if earlier' },
    last_seen_at: { type: 'timestamptz', description: 'Last event' },
    signed_up_at: { type: 'timestamptz', description: 'Signup time' },
    cohort_month: { type: 'date', description: 'Month of signup (or first seen)', tests: ['not_null'] },
    birth_year: { type: 'integer', description: 'Birth year' },
    gender: { type: 'text', description: 'Gender' },
    plan: { type: 'text', description: "Current plan: the plan of the latest upgrade or downgrade, 'churned' after a churn, else the plan of the latest identify" },
    country: { type: 'text', description: 'Country: traits first, else first event' },
    region: { type: 'text', description: 'Region' },
    city: { type: 'text', description: 'City' },
    acquisition_channel: { type: 'text', description: 'Acquisition channel: traits first, else first utm_source' },
    first_device_type: { type: 'text', description: 'Device type of the first event' },
    first_os: { type: 'text', description: 'OS of the first event' },
    first_browser: { type: 'text', description: 'Browser of the first event' },
    locale: { type: 'text', description: 'Locale of the first event' },
    email: { type: 'text', description: 'Email (PII)', pii: true },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with keys as (
        select distinct user_key, min(identity) filter (where identity_type = 'user') over (partition by user_key) as user_id
        from ${ref('core.user_identity_map')}
      ),
      first_events as (
        select distinct on (e.user_key) e.user_key, e.device_type, e.os, e.browser, e.country, s.region, s.city, s.locale, s.utm_source
        from ${ref('core.fct_events')} e join ${ref('staging.stg_events')} s using (message_id)
        order by e.user_key, e.occurred_at, e.message_id
      ),
      activity as (
        select user_key, min(occurred_at) as first_event_at, max(occurred_at) as last_event_at
        from ${ref('core.fct_events')} group by user_key
      ),
      plan_changes as (   -- the latest upgrade, downgrade or churn decides the current plan
        select distinct on (user_key) user_key, case when outcome_type = 'churn' then 'churned' else plan end as plan
        from ${ref('staging.stg_outcomes')} o join ${ref('core.user_identity_map')} m on m.identity = o.user_id
        where outcome_type in ('upgrade', 'downgrade', 'churn') and (plan is not null or outcome_type = 'churn')
        order by user_key, occurred_at desc, outcome_type, plan   -- not outcome_id: a derived one names the batch
      ),
      profiles as (   -- several user ids merged by aliases: the canonical id's traits win
        select distinct on (m.user_key) m.user_key, u.*
        from ${ref('staging.stg_users')} u join ${ref('core.user_identity_map')} m on m.identity = u.user_id
        order by m.user_key, (u.user_id = m.user_key) desc, u.updated_at desc nulls last, u.user_id
      ),
      final as (
        select k.user_key, k.user_id, k.user_id is not null as is_identified,
               least(a.first_event_at, p.signed_up_at) as first_seen_at, a.last_event_at as last_seen_at, p.signed_up_at,
               date_trunc('month', coalesce(p.signed_up_at, a.first_event_at, now()) at time zone 'UTC')::date as cohort_month,
               p.birth_year, p.gender, coalesce(pc.plan, p.plan) as plan,
               coalesce(p.country, f.country) as country, coalesce(p.region, f.region) as region, coalesce(p.city, f.city) as city,
               coalesce(p.acquisition_channel, f.utm_source) as acquisition_channel,
               f.device_type as first_device_type, f.os as first_os, f.browser as first_browser, f.locale, p.email
        from keys k
        left join activity a using (user_key)
        left join first_events f using (user_key)
        left join profiles p using (user_key)
        left join plan_changes pc using (user_key)
      )
      select * from final`),
});
