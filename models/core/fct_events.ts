import { defineModel } from '../../src/models/model-definition.ts';

/*
 * Incremental: each build re-derives the last `lookback` of events, widened
 * back to the earliest event of any batch loaded since the last build (late
 * data), and appends what is new. Sessions break after 30 minutes of inactivity per
 * user; a session id is the user key plus the session's start, so the same
 * session keeps its id across builds. Identity merges that reach events older
 * than the lookback are applied by `seglayer build --full-refresh`.
 */
export default defineModel({
  name: 'core.fct_events',
  description: 'Every de-duplicated event with its canonical user key and a session id (30-minute inactivity gap).',
  owner: 'data-platform',
  tags: ['events'],
  materialized: 'incremental',
  incremental: { windowColumn: 'occurred_at', lookback: '3 days', newBatchesOf: { table: 'raw.events', windowColumn: 'occurred_at' } },
  columns: {
    message_id: { type: 'text', description: 'Event id', tests: ['not_null', 'unique'] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', { relationships: { to: 'core.user_identity_map', field: 'user_key' } }] },
    session_id: { type: 'text', description: 'User key and session start', tests: ['not_null'] },
    event: { type: 'text', description: 'Event name', tests: ['not_null'] },
    occurred_at: { type: 'timestamptz', description: 'When the event happened', tests: ['not_null'] },
    properties: { type: 'jsonb', description: 'Event properties' },
    device_type: { type: 'text', description: 'Device type' },
    os: { type: 'text', description: 'Operating system' },
    browser: { type: 'text', description: 'Browser' },
    country: { type: 'text', description: 'Country' },
    anonymous_id: { type: 'text', description: 'Anonymous id sent with the event' },
    user_id: { type: 'text', description: 'User id sent with the event' },
  },
  build: (knex, { ref, incremental }) =>
    knex.raw(
      `
      with events as (
        select e.message_id, coalesce(u.user_key, a.user_key, 'anon:' || e.anonymous_id) as user_key,
               e.event, e.occurred_at, e.properties, e.device_type, e.os, e.browser, e.country, e.anonymous_id, e.user_id
        from ${ref('staging.stg_events')} e
        left join ${ref('core.user_identity_map')} u on u.identity = e.user_id
        left join ${ref('core.user_identity_map')} a on a.identity = e.anonymous_id and e.user_id is null
        where coalesce(e.user_id, e.anonymous_id) is not null
          ${incremental ? `and e.occurred_at >= ?::timestamptz - interval '30 minutes'` : ''}
      ),
      gaps as (
        select *, case when occurred_at - lag(occurred_at) over (partition by user_key order by occurred_at, message_id) <= interval '30 minutes'
                       then 0 else 1 end as starts_session
        from events
      ),
      numbered as (
        select *, sum(starts_session) over (partition by user_key order by occurred_at, message_id) as session_number
        from gaps
      ),
      final as (
        select message_id, user_key,
               user_key || '@' || to_char(min(occurred_at) over (partition by user_key, session_number) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as session_id,
               event, occurred_at, properties, device_type, os, browser, country, anonymous_id, user_id
        from numbered
      )
      select * from final ${incremental ? 'where occurred_at >= ?::timestamptz' : ''}`,
      incremental ? [incremental.since.toISOString(), incremental.since.toISOString()] : [],
    ),
});
