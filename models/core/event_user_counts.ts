import { rowsOfTouched, touchedCte, touchedOrGoneKeys } from '../../src/identity/touched-users-rows.ts';
import { defineModel } from '../../src/models/model-definition.ts';

/**
 * core.event_catalog per event and user, so the catalog folds this table instead of
 * re-reading every event: distinct users do not add up across days, but they do across
 * users. A user's rows depend on their own events only, so an incremental build
 * recomputes just the users the new batches touch (src/identity/touched-users-rows.ts,
 * the rule marts.user_paths follows); staleKeys drops their rows and merged-away keys.
 */
export default defineModel({
  name: 'core.event_user_counts',
  description: 'Per event name and canonical user: how often, and when first and last. What core.event_catalog folds.',
  owner: 'data-platform',
  tags: ['events', 'catalog'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  indexes: [['user_key']],
  tests: [{ unique_combination: ['event', 'user_key'] }],
  columns: {
    event: { type: 'text', description: 'Event name', tests: ['not_null'] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    events: { type: 'bigint', description: 'Events of this name by this user', tests: ['not_null'] },
    first_seen_at: { type: 'timestamptz', description: "The user's earliest occurrence", tests: ['not_null'] },
    last_seen_at: { type: 'timestamptz', description: "The user's latest occurrence", tests: ['not_null'] },
  },
  staleKeys: (knex, { ref, incremental }) => touchedOrGoneKeys(knex, ref, incremental!),
  build: (knex, { ref, incremental }) =>
    knex.raw(`
      ${incremental ? `with ${touchedCte(knex, ref, incremental)}` : ''}
      select event, user_key, count(*) as events, min(occurred_at) as first_seen_at, max(occurred_at) as last_seen_at
      from ${rowsOfTouched(ref, 'core.fct_events', incremental, true)} e
      group by event, user_key`),
});
