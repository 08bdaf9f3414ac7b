import { defineModel } from '../../src/models/model-definition.ts';

/*
 * Incremental: each build re-derives the last `lookback` of events, widened
 * back to the earliest event of any batch not yet taken in (late data), and
 * replaces that window. Sessions break after 30 minutes of inactivity per user;
 * a session id is the user key plus the session's start, so the same session
 * keeps its id across builds: a session still open at the window's start (its
 * last stored event less than 30 minutes before it) is continued from the
 * stored row, whose session id the window's events inherit, however long ago
 * the session began.
 * Identity merges: a stored event older than the window whose key the identity
 * map now resolves differently is re-keyed, and every event of both its old and
 * its new key is re-derived from the start (sessions of both users change), by
 * message_id (uniqueKey), so the result equals a full rebuild.
 */
export default defineModel({
  name: 'core.fct_events',
  description: 'Every de-duplicated event with its canonical user key and a session id (30-minute inactivity gap).',
  owner: 'data-platform',
  tags: ['events'],
  materialized: 'incremental',
  incremental: { windowColumn: 'occurred_at', uniqueKey: 'message_id', lookback: '3 days', newBatchesOf: { table: 'raw.events', windowColumn: 'occurred_at' } },
  // The window and key deletes, and dim_users / user_features reading only the touched users' events.
  indexes: [['occurred_at'], ['message_id'], ['user_key']],
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
  build: (knex, { ref, incremental }) => {
    const since = incremental?.since?.toISOString();
    return knex.raw(
      `
      with ${since ? `rekeyed_users as (   -- stored keys the identity map now resolves differently: both sides start over
        select k.user_key
        from ${incremental!.this} t
        join ${ref('core.user_identity_map')} m on m.identity = coalesce(t.user_id, t.anonymous_id),
        lateral (values (t.user_key), (m.user_key)) k(user_key)
        where t.occurred_at < :since::timestamptz and m.user_key <> t.user_key
        group by k.user_key
      ),
      staged as (   -- what can be rebuilt (events below keeps exactly what it did when every staged event was read):
        -- the window, and before it the events stored under a re-keyed user's key (an event now resolved
        -- to such a key is stored under it, or is re-keyed itself, and its old key is one of them)
        select * from ${ref('staging.stg_events')} where occurred_at >= :since::timestamptz
        union all
        select * from ${ref('staging.stg_events')} where occurred_at < :since::timestamptz and message_id in (
          select t.message_id from ${incremental!.this} t
          where t.user_key in (select user_key from rekeyed_users) and t.occurred_at < :since::timestamptz)
      ),` : ''}
      resolved as (
        select e.message_id, coalesce(u.user_key, a.user_key, 'anon:' || e.anonymous_id) as user_key,
               e.event, e.occurred_at, e.properties, e.device_type, e.os, e.browser, e.country, e.anonymous_id, e.user_id,
               null::text as carried_session_id
        from ${since ? 'staged' : ref('staging.stg_events')} e
        left join ${ref('core.user_identity_map')} u on u.identity = e.user_id
        left join ${ref('core.user_identity_map')} a on a.identity = e.anonymous_id and e.user_id is null
        where coalesce(e.user_id, e.anonymous_id) is not null
      ),
      ${since ? `events as (
        select * from resolved r
        where r.occurred_at >= :since::timestamptz or r.user_key in (select user_key from rekeyed_users)
      ),
      carried as (   -- per user, the last stored event within the gap before the window
        select distinct on (t.user_key) t.message_id, t.user_key, null::text as event, t.occurred_at, null::jsonb as properties,
               null::text as device_type, null::text as os, null::text as browser, null::text as country,
               null::text as anonymous_id, null::text as user_id, t.session_id as carried_session_id
        from ${incremental!.this} t
        where t.occurred_at >= :since::timestamptz - interval '30 minutes' and t.occurred_at < :since::timestamptz
          and t.user_key not in (select user_key from rekeyed_users)
        order by t.user_key, t.occurred_at desc, t.message_id desc
      ),
      timeline as (select * from events union all select * from carried),` : 'timeline as (select * from resolved),'}
      gaps as (
        select *, case when occurred_at - lag(occurred_at) over (partition by user_key order by occurred_at, message_id) <= interval '30 minutes'
                       then 0 else 1 end as starts_session
        from timeline
      ),
      numbered as (
        select *, sum(starts_session) over (partition by user_key order by occurred_at, message_id) as session_number
        from gaps
      ),
      sessions as (
        select *,
               coalesce(
                 first_value(carried_session_id) over (partition by user_key, session_number order by occurred_at, message_id),
                 user_key || '@' || to_char(min(occurred_at) over (partition by user_key, session_number) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
               ) as session_id
        from numbered
      ),
      final as (   -- the carried rows only lend their session id: they stay as stored
        select message_id, user_key, session_id, event, occurred_at, properties, device_type, os, browser, country, anonymous_id, user_id
        from sessions
        where carried_session_id is null
      )
      select * from final`,
      since ? { since } : {},
    );
  },
});
