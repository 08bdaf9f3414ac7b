import type { Knex } from 'knex';
import { displacedCopies, STAGED_EVENTS } from '../../src/identity/displaced-copies.ts';
import { batchArray } from '../../src/identity/touched-identities.ts';
import { defineModel } from '../../src/models/model-definition.ts';

const MAP = 'core.user_identity_map';
/** The staged columns an event is derived from (core.fct_events stores each of them as it is). */
const STAGED = 'message_id, user_id, anonymous_id, event, occurred_at, properties, device_type, os, browser, country';

/**
 * The keys to re-derive from the start, from the identity map's kept changes instead of resolving every stored
 * event again (a scan of all of them, 0.66 s of 1.7 s at 20k users): a stored event's key changes only when its
 * identity's does. Every identity of a staged event is in the map, so one with stored events has an old key there
 * (removed) and a new one (added); one new to the map can only have had events stored under `anon:<id>`.
 */
const rekeyedFromChanges = (changes: Knex.Raw, published: Knex.Raw) => `
        select k.user_key
        from (select identity, user_key from ${changes} where change = 'removed') o
        full join (select identity, user_key from ${changes} where change = 'added') n on n.identity = o.identity
        cross join lateral (values (o.user_key), (n.user_key), ('anon:' || coalesce(o.identity, n.identity))) k(user_key)
        where k.user_key is not null
          and (o.identity is not null or exists (select 1 from ${published} t where t.user_key = 'anon:' || n.identity))
        group by k.user_key`;

/*
 * Incremental by message_id, per user: a build re-derives, for every user a new
 * batch gives an event, that user's events from the earliest of those new events
 * (or of the stored events their new copies replace) on, and nothing of anyone
 * else (a 3-day window re-derived every user's last 3 days). Sessions break after
 * 30 minutes of inactivity per user; a session id is the user key plus the
 * session's start, so the same session keeps its id across builds: a session
 * still open at a user's start (the user's last stored event less than 30 minutes
 * before it) is continued from the stored row, whose session id the re-derived
 * events inherit, however long ago the session began. A later-loaded copy that
 * displaces a kept one starts both its new and its old user at the stored time.
 * Identity merges: a stored event whose key the identity map now resolves
 * differently is re-keyed, and every event of both its old and its new key is
 * re-derived from the start (sessions of both users change). A revert of a batch
 * taken in rebuilds in full.
 */
export default defineModel({
  name: 'core.fct_events',
  description: 'Every de-duplicated event with its canonical user key and a session id (30-minute inactivity gap).',
  owner: 'data-platform',
  tags: ['events'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'message_id' },
  // The map's changes: the keys it resolves differently. stg_events': the kept copies new batches displaced.
  deltaFrom: [MAP, STAGED_EVENTS],
  // Every column: per-user models add the new events of appended users (src/identity/appended-users.ts), and a new
  // copy of an event that differs only in its properties must show as a change.
  keepChanges: {},
  // event_property_days' window, the key delete, and per-user reads: a user's events from a time on (here),
  // every event of a user (dim_users, user_features). session_id in the per-user index too: a user's sessions
  // (user_facts' median session length of appended users, ~110 events each) are then read index-only, not
  // fetched row by row from the heap (the visibility map permitting: pages autovacuum has not seen since a write
  // are still fetched). Costs ~0.8 s more index build in a full build (89 MB against 36 MB at 1.2M events).
  // event and user_key after occurred_at: marts.change_statistics reads a change's window of its metrics' events
  // index-only, not the window's 12.6k heap pages for 15k of 179k events (0.4-0.5 s → 0.15-0.2 s at 20k users). The same
  // plans elsewhere (reference_time's max, the models' event filters); 56 MB against 25 MB. Led by event, it drew the
  // event filters of rule_event_facts and current_membership into bitmap scans 1.5-3x slower.
  indexes: [['occurred_at', 'event', 'user_key'], ['message_id'], ['user_key', 'occurred_at', 'session_id']],
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
  // A new kept copy naming no one replaces an event that therefore leaves the table.
  staleKeys: (knex, { ref, incremental }) =>
    knex.raw(`select message_id from ${ref('staging.stg_events')}
      where load_batch_id = any(${batchArray(knex, incremental!.newBatches)}) and coalesce(user_id, anonymous_id) is null`),
  build: (knex, { ref, incremental, delta }) => {
    const resolvedKey = `coalesce(u.user_key, a.user_key, 'anon:' || e.anonymous_id)`;
    const identities = `left join ${ref(MAP)} u on u.identity = e.user_id
        left join ${ref(MAP)} a on a.identity = e.anonymous_id and e.user_id is null`;
    return knex.raw(
      `
      with ${incremental ? `displaced as (   -- stored events whose kept copy a new batch replaced
        ${delta ? `select message_id from ${displacedCopies(delta)} d`
        // Without stg_events' changes, every new copy's message id is looked up (11.5k probes a day at 20k users).
        : `select message_id from ${ref('staging.stg_events')} where load_batch_id = any(${batchArray(knex, incremental.newBatches)})`}
      ),
      rekeyed_users as (   -- stored keys the identity map now resolves differently: both sides start over
        ${delta ? rekeyedFromChanges(delta.changes[MAP]!, incremental.this) : `select k.user_key
        from ${incremental.this} t
        join ${ref(MAP)} m on m.identity = coalesce(t.user_id, t.anonymous_id),
        lateral (values (t.user_key), (m.user_key)) k(user_key)
        where m.user_key <> t.user_key
        group by k.user_key`}
      ),
      starts as (   -- per user, the time from which its events are re-derived
        select user_key, min(from_at) as from_at from (
          select ${resolvedKey} as user_key, e.occurred_at as from_at
          from ${ref('staging.stg_events')} e ${identities}
          where e.load_batch_id = any(${batchArray(knex, incremental.newBatches)}) and coalesce(e.user_id, e.anonymous_id) is not null
          union all   -- the stored events those copies replace: a displaced copy's user, at its old time
          select t.user_key, t.occurred_at from ${incremental.this} t where t.message_id = any(array(select message_id from displaced))
          union all
          select user_key, '-infinity'::timestamptz from rekeyed_users
        ) s
        group by user_key
      ),
      staged as (   -- the new copies, and every other event of a started user from its start as stored: a kept copy changes
                    -- only when a new batch brings another (re-reading them from staging by message_id cost 0.4 s). One row per
                    -- message id, the new copy first: by a sort, since an anti-join planned on the batch's unknown size
                    -- (estimated at 1 row) probed every stored row against every new copy
        select distinct on (message_id) ${STAGED}, stored_user_key, stored_session_id from (
          select 0 as stored, ${STAGED}, null::text as stored_user_key, null::text as stored_session_id
          from ${ref('staging.stg_events')} where load_batch_id = any(${batchArray(knex, incremental.newBatches)})
          union all
          select 1, ${STAGED.split(', ').map((c) => `t.${c}`).join(', ')}, t.user_key, t.session_id
          from ${incremental.this} t join starts s on s.user_key = t.user_key
          where t.occurred_at >= s.from_at
        ) c
        order by message_id, stored
      ),` : ''}
      resolved as (
        select e.message_id, ${resolvedKey} as user_key,
               e.event, e.occurred_at, e.properties, e.device_type, e.os, e.browser, e.country, e.anonymous_id, e.user_id,
               null::text as carried_session_id${incremental ? ', e.stored_user_key, e.stored_session_id' : ''}
        from ${incremental ? 'staged' : ref('staging.stg_events')} e
        ${identities}
        where coalesce(e.user_id, e.anonymous_id) is not null
      ),
      ${incremental ? `carried as (   -- per started user, the last stored event within the gap before its start
        select distinct on (t.user_key) t.message_id, t.user_key, null::text as event, t.occurred_at, null::jsonb as properties,
               null::text as device_type, null::text as os, null::text as browser, null::text as country,
               null::text as anonymous_id, null::text as user_id, t.session_id as carried_session_id,
               null::text as stored_user_key, null::text as stored_session_id
        from starts s join ${incremental.this} t on t.user_key = s.user_key
        where t.occurred_at >= s.from_at - interval '30 minutes' and t.occurred_at < s.from_at
        order by t.user_key, t.occurred_at desc, t.message_id desc
      ),
      timeline as (select * from resolved union all select * from carried),` : 'timeline as (select * from resolved),'}
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
        where carried_session_id is null${incremental ? `
          -- and a stored event re-derived as it is stays too: only its key and session can change (late events re-derive
          -- each user's later events, 34k rows written for 11.5k new ones on the build bench, most of them unchanged)
          and (stored_user_key is null or (user_key, session_id) is distinct from (stored_user_key, stored_session_id))` : ''}
      )
      select * from final`);
  },
});
