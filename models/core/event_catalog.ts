import { defineModel } from '../../src/models/model-definition.ts';

/** What events the warehouse has seen: rules' event names are checked against it (segments.rule_event_references). */
export default defineModel({
  name: 'core.event_catalog',
  description: 'Every event name seen in core.fct_events, with how often, by how many users, and when first and last.',
  owner: 'data-platform',
  tags: ['events', 'catalog'],
  columns: {
    event: { type: 'text', description: 'Event name', tests: ['not_null', 'unique'] },
    events: { type: 'bigint', description: 'Events of this name', tests: ['not_null'] },
    users: { type: 'bigint', description: 'Distinct users (canonical keys) with this event', tests: ['not_null'] },
    first_seen_at: { type: 'timestamptz', description: 'Earliest occurrence', tests: ['not_null'] },
    last_seen_at: { type: 'timestamptz', description: 'Latest occurrence', tests: ['not_null'] },
  },
  // Folds core.event_user_counts (kept per event and user for touched users) rather than every event:
  // users add up over that table, which has a row per event and user (160k against 1.15M events at 20k users).
  build: (knex, { ref }) =>
    knex.raw(`
      select event, sum(events)::bigint as events, count(*) as users, min(first_seen_at) as first_seen_at, max(last_seen_at) as last_seen_at
      from ${ref('core.event_user_counts')}
      group by event`),
});
