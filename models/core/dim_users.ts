import { APPENDED_FROM, appendedUsersOf } from '../../src/identity/appended-users.ts';
import { batchArray } from '../../src/identity/touched-identities.ts';
import { touchedCte } from '../../src/identity/touched-users-rows.ts';
import { defineModel, type ModelInput } from '../../src/models/model-definition.ts';

const EVENTS = 'core.fct_events';

/*
 * Incremental by user: a build after new batches recomputes only the users they
 * touch (touched-identities.ts: the keys of every id they name, and of the previous
 * owners of anonymous ids that change hands), each from all its history, and deletes
 * the keys a merge made disappear. A touched user whose only change is new events after
 * all their stored ones (src/identity/appended-users.ts) keeps their stored row with the
 * new last event: the first event, outcomes, profile and identities are as they were.
 */

const COLUMNS = {
  user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique'] },
  user_id: { type: 'text', description: 'Canonical user id (null for anonymous visitors)' },
  is_identified: { type: 'boolean', description: 'True when the key belongs to a known user id', tests: ['not_null'] },
  first_seen_at: { type: 'timestamptz', description: 'First activity of any kind: event, outcome, or signup, whichever is earliest' },
  last_seen_at: { type: 'timestamptz', description: 'Last event' },
  last_active_at: { type: 'timestamptz', description: 'Last event or outcome' },
  signed_up_at: { type: 'timestamptz', description: 'Signup time' },
  first_order_at: { type: 'timestamptz', description: 'First order line (core.fct_outcomes.is_order): the first purchase' },
  cohort_month: { type: 'date', description: 'Month of signup, else of first seen (UTC); null for a user with no recorded activity' },
  first_seen_month: { type: 'date', description: 'Month of first_seen_at (UTC): the first-seen cohort' },
  first_order_month: { type: 'date', description: 'Month of first_order_at (UTC): the first-purchase cohort; null for users who never ordered' },
  birth_year: { type: 'integer', description: 'Birth year' },
  gender: { type: 'text', description: 'Gender' },
  plan: { type: 'text', description: "Current plan: the plan of the latest upgrade or downgrade, 'churned' after a churn, else the plan of the latest identify" },
  country: { type: 'text', description: 'Country: user record first, else the latest outcome with a mapped country trait, else the first event' },
  region: { type: 'text', description: 'Region' },
  city: { type: 'text', description: 'City' },
  acquisition_channel: { type: 'text', description: 'Acquisition channel: traits first, else first utm_source' },
  first_device_type: { type: 'text', description: 'Device type of the first event' },
  first_os: { type: 'text', description: 'OS of the first event' },
  first_browser: { type: 'text', description: 'Browser of the first event' },
  locale: { type: 'text', description: 'Locale of the first event' },
  email: { type: 'text', description: 'Email (PII)', pii: true },
} satisfies ModelInput['columns'];

/** An appended user's row (`appended`: the stored one and last_new_at), with the last event (and activity) moved to their last new event. */
const APPENDED_ROW = Object.keys(COLUMNS)
  .map((c) => (c === 'last_seen_at' ? 'a.last_new_at as last_seen_at' : c === 'last_active_at' ? 'greatest(a.last_active_at, a.last_new_at) as last_active_at' : `a.${c}`))
  .join(', ');

export default defineModel({
  name: 'core.dim_users',
  description:
    'One row per canonical user: identified users, anonymous visitors, and users seen only in outcomes (e.g. customers of an order file). Attributes from the latest identify, else the latest outcome carrying mapped user traits, else the first event; device and acquisition from the first event. Cohorts are months of first activity of each kind, never of the build.',
  owner: 'data-platform',
  tags: ['users'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  indexes: [['user_key']],
  // Appended users are read from fct_events' and the map's kept changes; without them every touched user is recomputed.
  deltaFrom: [...APPENDED_FROM],
  columns: COLUMNS,
  staleKeys: (knex, { ref, incremental }) =>
    knex.raw(`select t.user_key from ${incremental!.this} t where not exists (select 1 from ${ref('core.user_identity_map')} m where m.user_key = t.user_key)`),
  build: (knex, { ref, incremental, delta }) => {
    // The touched users recomputed from their history: with kept changes, all but the appended ones (see `appended` below).
    const users = incremental && delta ? 'recomputed' : 'touched';
    // The identity map joined to touched instead: `= any(array(...))` is guessed at a dozen rows, and the joins planned on that
    // probed the map and staging once per row when many users were touched (every user: 31 s against 5.7 s, 20k bench database).
    const identityMap = incremental ? `(select m.* from ${users} t join ${ref('core.user_identity_map')} m using (user_key))` : `${ref('core.user_identity_map')}`;
    // Rows already limited to the touched users' ids (ofTouchedIds) look their key up in the whole map (identity is its
    // unique key, so the same rows): joined to the touched map above, estimated at one row, they planned a nested loop of
    // touched users against profiles (4.5M join-filter rows, 1.1 s of 1.6 s at 2,114 touched users).
    const mapOfTouchedIds = `${ref('core.user_identity_map')}`;
    // Incremental: three probes of fct_events' (user_key, occurred_at) index per touched user (first event, last time)
    // instead of reading all their events (110k rows for 2,114 users on the 20k bench database).
    const activity = incremental
      ? `select t.user_key, f.occurred_at as first_event_at, l.last_event_at, f.message_id as first_message_id
        from ${users} t
        cross join lateral (select e.occurred_at, e.message_id from ${ref('core.fct_events')} e where e.user_key = t.user_key order by e.occurred_at, e.message_id limit 1) f
        cross join lateral (select max(e.occurred_at) as last_event_at from ${ref('core.fct_events')} e where e.user_key = t.user_key) l`
      : `select user_key, min(occurred_at) as first_event_at, max(occurred_at) as last_event_at,
               (array_agg(message_id order by occurred_at, message_id))[1] as first_message_id
        from ${ref('core.fct_events')} e group by user_key`;
    // Staging views by user id: their window filters are estimated at a handful of rows, which planned a nested loop of
    // every user against the touched ones; an array filter on the partition column is pushed inside the window instead
    // (an `in (select ...)` is not), where raw.users' index on the trimmed id answers it (migration 20261201104000).
    const ofTouchedIds = (relation: string, insideWindow = false) => {
      const ids = `select identity from ${ref('core.user_identity_map')} where user_key = any(array(select user_key from ${users}))`;
      if (!incremental) return `${ref(relation)}`;
      return `(select * from ${ref(relation)} where user_id ${insideWindow ? `= any(array(${ids}))` : `in (${ids})`})`;
    };
    const appended = incremental && delta ? `
      appended as materialized (   -- appended users' stored rows, and their last new event (their last event: fct_events' index)
        -- Laterals from the appended users, by index: their count is guessed at a few rows, and joins planned on that
        -- rescanned them per stored row (4M join-filter rows, 1 s, for 2k users on the 20k bench database).
        select d.*, l.last_new_at
        from (${appendedUsersOf(knex, ref, incremental, delta)}) a
        cross join lateral (select * from ${incremental.this} d where d.user_key = a.user_key) d
        cross join lateral (select max(e.occurred_at) as last_new_at from ${ref(EVENTS)} e where e.user_key = a.user_key) l
        -- Not a user a new copy of a stored event names (one fct_events kept unchanged: it differs, if at all, in what only
        -- staging holds, e.g. the first event's region or utm_source).
        where a.user_key not in (
          select e.user_key from ${ref(EVENTS)} e where e.message_id = any(array(
            select s.message_id from ${ref('staging.stg_events')} s where s.load_batch_id = any(${batchArray(knex, incremental.newBatches)})
            except select c.message_id from ${delta.changes[EVENTS]} c where c.change = 'added')))
      ),
      recomputed as (select user_key from touched where user_key not in (select user_key from appended)),` : '';
    return knex.raw(`
      with ${incremental ? `${touchedCte(knex, ref, incremental)},` : ''}${appended}
      keys as (
        select distinct user_key, min(identity) filter (where identity_type = 'user') over (partition by user_key) as user_id
        from ${identityMap} m
      ),
      activity as (   -- one pass over the users' events; the first event's other columns are looked up once per user
        ${activity}
      ),
      first_events as (   -- staging holds what fct_events does not carry (region, city, locale, utm_source)
        select a.user_key, s.device_type, s.os, s.browser, s.country, s.region, s.city, s.locale, s.utm_source
        from activity a join ${ref('staging.stg_events')} s on s.message_id = a.first_message_id
      ),
      user_outcomes as (   -- staging, not core.fct_outcomes: that model's user_key is tested against this one
        select m.user_key, o.outcome_id, o.occurred_at, o.is_order, o.user_traits
        from ${ofTouchedIds('staging.stg_outcomes')} o join ${mapOfTouchedIds} m on m.identity = o.user_id
      ),
      outcome_activity as (
        select user_key, min(occurred_at) as first_outcome_at, max(occurred_at) as last_outcome_at,
               min(occurred_at) filter (where is_order) as first_order_at
        from user_outcomes group by user_key
      ),
      outcome_traits as (   -- traits a load mapping took from order rows: the latest row carrying each one wins
        select user_key,
               (array_agg(user_traits ->> 'country' order by occurred_at desc, outcome_id desc) filter (where user_traits ->> 'country' is not null))[1] as country,
               (array_agg(user_traits ->> 'region' order by occurred_at desc, outcome_id desc) filter (where user_traits ->> 'region' is not null))[1] as region,
               (array_agg(user_traits ->> 'city' order by occurred_at desc, outcome_id desc) filter (where user_traits ->> 'city' is not null))[1] as city,
               (array_agg(user_traits ->> 'acquisition_channel' order by occurred_at desc, outcome_id desc) filter (where user_traits ->> 'acquisition_channel' is not null))[1] as acquisition_channel
        from user_outcomes where user_traits is not null group by user_key
      ),
      plan_changes as (   -- the latest upgrade, downgrade or churn decides the current plan
        select distinct on (user_key) user_key, case when outcome_type = 'churn' then 'churned' else plan end as plan
        from ${ofTouchedIds('staging.stg_outcomes')} o join ${mapOfTouchedIds} m on m.identity = o.user_id
        where outcome_type in ('upgrade', 'downgrade', 'churn') and (plan is not null or outcome_type = 'churn')
        order by user_key, occurred_at desc, outcome_type, plan   -- not outcome_id: a derived one names the batch
      ),
      profiles as (   -- several user ids merged by aliases: the canonical id's traits win
        select distinct on (m.user_key) m.user_key, u.*
        from ${ofTouchedIds('staging.stg_users', true)} u join ${mapOfTouchedIds} m on m.identity = u.user_id
        order by m.user_key, (u.user_id = m.user_key) desc, u.updated_at desc nulls last, u.user_id
      ),
      final as (
        select k.user_key, k.user_id, k.user_id is not null as is_identified,
               least(a.first_event_at, oa.first_outcome_at, p.signed_up_at) as first_seen_at, a.last_event_at as last_seen_at,
               greatest(a.last_event_at, oa.last_outcome_at) as last_active_at, p.signed_up_at, oa.first_order_at,
               date_trunc('month', coalesce(p.signed_up_at, least(a.first_event_at, oa.first_outcome_at)) at time zone 'UTC')::date as cohort_month,
               date_trunc('month', least(a.first_event_at, oa.first_outcome_at, p.signed_up_at) at time zone 'UTC')::date as first_seen_month,
               date_trunc('month', oa.first_order_at at time zone 'UTC')::date as first_order_month,
               p.birth_year, p.gender, coalesce(pc.plan, p.plan) as plan,
               coalesce(p.country, ot.country, f.country) as country, coalesce(p.region, ot.region, f.region) as region,
               coalesce(p.city, ot.city, f.city) as city,
               coalesce(p.acquisition_channel, ot.acquisition_channel, f.utm_source) as acquisition_channel,
               f.device_type as first_device_type, f.os as first_os, f.browser as first_browser, f.locale, p.email
        from keys k
        left join activity a using (user_key)
        left join outcome_activity oa using (user_key)
        left join outcome_traits ot using (user_key)
        left join first_events f using (user_key)
        left join profiles p using (user_key)
        left join plan_changes pc using (user_key)
      )
      select * from final${appended ? `
      union all
      select ${APPENDED_ROW} from appended a` : ''}`);
  },
});
