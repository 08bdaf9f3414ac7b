import { APPENDED_FROM, appendedUsersOf } from '../../src/identity/appended-users.ts';
import { rowsOfTouched, touchedCte, touchedOrGoneKeys } from '../../src/identity/touched-users-rows.ts';
import { defineModel } from '../../src/models/model-definition.ts';

const EVENTS = 'core.fct_events';

/**
 * core.event_catalog per event and user, so the catalog folds this table instead of
 * re-reading every event: distinct users do not add up across days, but they do across
 * users. A user's rows depend on their own events only, so an incremental build
 * recomputes just the users the new batches touch (src/identity/touched-users-rows.ts,
 * the rule marts.user_paths follows); staleKeys drops their rows and merged-away keys.
 * A user the run only appends events to (src/identity/appended-users.ts, with fct_events'
 * and the map's kept changes) gets their stored rows plus the new events' counts: counts
 * add, and first and last times are the least and greatest of both.
 */
export default defineModel({
  name: 'core.event_user_counts',
  description: 'Per event name and canonical user: how often, and when first and last. What core.event_catalog folds.',
  owner: 'data-platform',
  tags: ['events', 'catalog'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  indexes: [['user_key']],
  deltaFrom: [...APPENDED_FROM],
  tests: [{ unique_combination: ['event', 'user_key'] }],
  columns: {
    event: { type: 'text', description: 'Event name', tests: ['not_null'] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    events: { type: 'bigint', description: 'Events of this name by this user', tests: ['not_null'] },
    first_seen_at: { type: 'timestamptz', description: "The user's earliest occurrence", tests: ['not_null'] },
    last_seen_at: { type: 'timestamptz', description: "The user's latest occurrence", tests: ['not_null'] },
  },
  staleKeys: (knex, { ref, incremental, delta }) => touchedOrGoneKeys(knex, ref, incremental!, delta),
  build: (knex, { ref, incremental, delta }) => {
    const counted = (from: string) => `select event, user_key, count(*) as events, min(occurred_at) as first_seen_at, max(occurred_at) as last_seen_at from ${from} e group by event, user_key`;
    if (!incremental || !delta) {
      return knex.raw(`${incremental ? `with ${touchedCte(knex, ref, incremental)}` : ''} ${counted(rowsOfTouched(ref, EVENTS, incremental, true))}`);
    }
    const changes = delta.changes[EVENTS]!;
    const appended = appendedUsersOf(knex, ref, incremental, delta);
    return knex.raw(`
      with ${touchedCte(knex, ref, incremental)},
      appended as materialized (${appended}),
      -- Everyone else the run touches, from their whole history.
      recomputed as (${counted(`(select * from ${ref(EVENTS)} where user_key = any(array(select user_key from touched except select user_key from appended)))`)}),
      added as (${counted(`(select * from ${changes} where change = 'added' and user_key in (select user_key from appended))`)}),
      stored as (select * from ${delta.this} where user_key = any(array(select user_key from appended))),
      combined as (
        select event, user_key, coalesce(s.events, 0) + coalesce(a.events, 0) as events,
               least(s.first_seen_at, a.first_seen_at) as first_seen_at, greatest(s.last_seen_at, a.last_seen_at) as last_seen_at
        from stored s full join added a using (event, user_key)
      )
      select * from recomputed
      union all
      select * from combined`);
  },
});
