import { defineModel } from '../../src/models/model-definition.ts';

/*
 * core.event_properties per UTC day, so an incremental build reads only the days
 * core.fct_events rebuilt: jsonb_each over every stored event was the event
 * catalog's cost on every build. Counts add up across days, and the five smallest
 * distinct example values of all time are among the five smallest of each day, so
 * core.event_properties folds these rows into the same answer as from the events.
 *
 * The window is `day_end` (the day's end): the runner replaces rows whose day_end
 * is at or after `since`, i.e. every day that holds an instant at or after it, and
 * the query recomputes exactly those days from their first event. Its lookback is
 * core.fct_events', from midnight, so it covers every day that model rebuilds;
 * identity merges re-key stored events outside that window, which changes neither
 * their event nor their properties.
 */
export default defineModel({
  name: 'core.event_property_days',
  description: 'Per UTC day: every top-level property of every event name, per observed JSON type, with how often and up to five example values.',
  owner: 'data-platform',
  tags: ['events', 'catalog'],
  materialized: 'incremental',
  incremental: { windowColumn: 'day_end', lookback: '3 days', newBatchesOf: { table: 'raw.events', windowColumn: 'occurred_at' } },
  indexes: [['day_end']],
  tests: [{ unique_combination: ['day', 'event', 'property', 'json_type'] }],
  columns: {
    day: { type: 'timestamptz', description: 'Start of the UTC day', tests: ['not_null'] },
    day_end: { type: 'timestamptz', description: 'End of the UTC day (day + 24 hours): the incremental window is measured on it', tests: ['not_null', { expression: "day_end = day + interval '24 hours'" }] },
    event: { type: 'text', description: 'Event name', tests: ['not_null'] },
    property: { type: 'text', description: 'Property key (top level of properties)', tests: ['not_null'] },
    json_type: { type: 'text', description: 'Observed JSON type: string, number, boolean, object, array, null', tests: ['not_null', { accepted_values: ['string', 'number', 'boolean', 'object', 'array', 'null'] }] },
    events: { type: 'bigint', description: 'Events of this name that day carrying the property with this type', tests: ['not_null'] },
    examples: { type: 'text[]', description: 'Up to five smallest distinct example values that day (first 40 characters each), sorted; null when every value was null' },
  },
  build: (knex, { ref, incremental }) =>
    knex.raw(
      `
      with pairs as (
        select date_trunc('day', e.occurred_at, 'UTC') as day, e.event, p.key as property, jsonb_typeof(p.value) as json_type, left(p.value #>> '{}', 40) as value
        from ${ref('core.fct_events')} e
        cross join lateral jsonb_each(case when jsonb_typeof(e.properties) = 'object' then e.properties else '{}'::jsonb end) p
        -- The first midnight at or after since - 24 hours: the first day whose day_end >= since.
        ${incremental?.since ? `where e.occurred_at >= date_trunc('day', ?::timestamptz - interval '24 hours' - interval '1 microsecond', 'UTC') + interval '24 hours'` : ''}
      )
      select day, day + interval '24 hours' as day_end, event, property, json_type, count(*) as events,
             (array_agg(distinct value) filter (where value is not null))[1:5] as examples
      from pairs
      group by day, event, property, json_type`,
      incremental?.since ? [incremental.since.toISOString()] : [],
    ),
});
