import { defineModel } from '../../src/models/model-definition.ts';

/**
 * The properties each event carries, one row per JSON type observed, so a rule that
 * reads `size` as a number can be told it only ever arrived as a string.
 */
export default defineModel({
  name: 'core.event_properties',
  description: 'Every top-level property of every event name, per observed JSON type, with how often and a few example values.',
  owner: 'data-platform',
  tags: ['events', 'catalog'],
  tests: [{ unique_combination: ['event', 'property', 'json_type'] }],
  columns: {
    event: { type: 'text', description: 'Event name', tests: ['not_null', { relationships: { to: 'core.event_catalog', field: 'event' } }] },
    property: { type: 'text', description: 'Property key (top level of properties)', tests: ['not_null'] },
    json_type: { type: 'text', description: 'Observed JSON type: string, number, boolean, object, array, null', tests: ['not_null', { accepted_values: ['string', 'number', 'boolean', 'object', 'array', 'null'] }] },
    events: { type: 'bigint', description: 'Events of this name carrying the property with this type', tests: ['not_null'] },
    examples: { type: 'text', description: 'Up to five distinct example values (first 40 characters each, sorted), comma separated' },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with pairs as (
        select e.event, p.key as property, jsonb_typeof(p.value) as json_type, left(p.value #>> '{}', 40) as value
        from ${ref('core.fct_events')} e
        cross join lateral jsonb_each(case when jsonb_typeof(e.properties) = 'object' then e.properties else '{}'::jsonb end) p
      )
      select event, property, json_type, count(*) as events,
             array_to_string((array_agg(distinct value) filter (where value is not null))[1:5], ', ') as examples
      from pairs
      group by event, property, json_type`),
});
