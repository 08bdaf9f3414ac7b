import type { Knex } from 'knex';
import { batchArray } from '../../src/identity/touched-identities.ts';
import { defineModel } from '../../src/models/model-definition.ts';

/*
 * core.event_properties per UTC day, so an incremental build reads only the days
 * new events fall on: jsonb_each over every stored event was the event
 * catalog's cost on every build. Counts add up across days, and the five smallest
 * distinct example values of all time are among the five smallest of each day, so
 * core.event_properties folds these rows into the same answer as from the events.
 *
 * The window is `day_end` (the day's end): the runner replaces rows whose day_end
 * is at or after `since`, i.e. every day that holds an instant at or after it, and
 * the query recomputes exactly those days from their first event. The window
 * reaches back to the earliest event of the new batches, where core.fct_events'
 * new events are; what that model re-derives before it (a user's later events,
 * identity merges) keeps its event and properties. Only a copy that displaces a
 * kept one moves an event out of an older day: the days of every earlier copy
 * of the message ids the new batches bring are recomputed too, by key (`day`),
 * and deleted by staleKeys when nothing is left in them. So no lookback: the
 * 3 days it had recomputed ~10k unchanged events per build since stg_events
 * stopped re-deriving a window.
 *
 * Read from staging.stg_events, not core.fct_events: the events are the same rows
 * (fct_events keeps every staged event naming someone, with its event, time and
 * properties as staged), and reading staging lets this model run while the
 * identity map and fct_events are still building. Those are the daily run's
 * critical chain, and the second thread had nothing else to do then (0.4 s at 20k
 * users, 2.2 s at 100k, moved off the run's wall time).
 */

/** The UTC days of the earlier copies of the message ids the new batches bring. */
const copiedDays = (knex: Knex, ref: (name: string) => Knex.Raw, batches: number[]) => `
  select distinct date_trunc('day', r.occurred_at, 'UTC') as day from ${ref('raw.events')} r
  where r.message_id in (select n.message_id from ${ref('raw.events')} n where n.load_batch_id = any(${batchArray(knex, batches)}))
    and r.load_batch_id <> all(${batchArray(knex, batches)})`;
/** The events core.fct_events holds: the staged ones naming someone (fct_events resolves no others). */
const EVENTS = (ref: (name: string) => Knex.Raw) =>
  `(select message_id, event, occurred_at, properties from ${ref('staging.stg_events')} where coalesce(user_id, anonymous_id) is not null)`;

export default defineModel({
  name: 'core.event_property_days',
  description: 'Per UTC day: every top-level property of every event name, per observed JSON type, with how often and up to five example values.',
  owner: 'data-platform',
  tags: ['events', 'catalog'],
  materialized: 'incremental',
  incremental: { windowColumn: 'day_end', lookback: '0 days', uniqueKey: 'day', newBatchesOf: { table: 'raw.events', windowColumn: 'occurred_at' } },
  staleKeys: (knex, { ref, incremental }) => knex.raw(copiedDays(knex, ref, incremental!.newBatches)),
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
      with ${incremental?.since ? `window_events as (
        select * from ${EVENTS(ref)} e
        -- The first midnight at or after since - 24 hours: the first day whose day_end >= since.
        where e.occurred_at >= date_trunc('day', :since::timestamptz - interval '24 hours' - interval '1 microsecond', 'UTC') + interval '24 hours'
      ),
      events as (   -- and the older days a displaced copy may have left
        select * from window_events
        union all
        select e.* from (${copiedDays(knex, ref, incremental.newBatches)}) d
        join ${EVENTS(ref)} e on e.occurred_at >= d.day and e.occurred_at < d.day + interval '24 hours'
        where d.day < date_trunc('day', :since::timestamptz - interval '24 hours' - interval '1 microsecond', 'UTC') + interval '24 hours'
      ),` : ''}
      pairs as (
        select date_trunc('day', e.occurred_at, 'UTC') as day, e.event, p.key as property, jsonb_typeof(p.value) as json_type, left(p.value #>> '{}', 40) as value
        from ${incremental?.since ? 'events' : EVENTS(ref)} e
        cross join lateral jsonb_each(case when jsonb_typeof(e.properties) = 'object' then e.properties else '{}'::jsonb end) p
      )
      select day, day + interval '24 hours' as day_end, event, property, json_type, count(*) as events,
             (array_agg(distinct value) filter (where value is not null))[1:5] as examples
      from pairs
      group by day, event, property, json_type`,
      incremental?.since ? { since: incremental.since.toISOString() } : {},
    ),
});
