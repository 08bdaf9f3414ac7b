import { defineModel } from '../../src/models/model-definition.ts';

/**
 * The properties each event carries, one row per JSON type observed, so a rule that
 * reads `size` as a number can be told it only ever arrived as a string. Folded from
 * core.event_property_days (incremental), not from every event on every build.
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
      with counts as (
        select event, property, json_type, sum(events)::bigint as events
        from ${ref('core.event_property_days')} group by event, property, json_type
      ), examples as (
        select d.event, d.property, d.json_type, array_to_string((array_agg(distinct x.value))[1:5], ', ') as examples
        from ${ref('core.event_property_days')} d cross join lateral unnest(d.examples) as x(value)
        group by d.event, d.property, d.json_type
      )
      select c.event, c.property, c.json_type, c.events, e.examples
      from counts c left join examples e using (event, property, json_type)`),
});
