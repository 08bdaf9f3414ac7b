import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { ruleEventReferences } from '../../src/segments/event-references.ts';

/**
 * A function of the project: every event and property the segment rules name,
 * checked against the event catalog. Not a failing test: a rule may name an event
 * that has not arrived yet (or a project's segments may run on other data), and its
 * segment is then simply empty; `seglayer segments validate` and `segments preview`
 * fail on it, with the place and the nearest name (a typo, most often).
 */
export default (project: ProjectContent) => {
  const references = ruleEventReferences(project.segments, project.featureCatalog.catalog);
  return defineModel({
    name: 'segments.rule_event_references',
    description: 'Every event (and event property, with the type it is read as) a segment rule names, and whether core.event_catalog knows it.',
    owner: 'data-platform',
    tags: ['segments', 'catalog'],
    tests: [{ unique_combination: ['definition', 'event', 'property', 'read_as'] }],
    columns: {
      definition: { type: 'text', description: 'Segment definition', tests: ['not_null'] },
      event: { type: 'text', description: 'Event name the rule names', tests: ['not_null'] },
      property: { type: 'text', description: 'Property the rule reads (null: the event itself)' },
      read_as: { type: 'text', description: 'JSON type the rule reads the property as (null: any)' },
      known: { type: 'boolean', description: 'The catalog has this event (and property, with that type); run `seglayer segments validate` for the place and a suggestion', tests: ['not_null'] },
    },
    build: (knex, { ref }) => {
      const catalog = ref('core.event_catalog').toQuery();
      const properties = ref('core.event_properties').toQuery();
      const rows = references.length
        ? `values ${references.map(() => '(?::text, ?::text, ?::text, ?::text)').join(', ')}`
        : `select null::text, null::text, null::text, null::text where false`;
      return knex.raw(
        `with refs (definition, event, property, read_as) as (${rows})
         select r.definition, r.event, r.property, r.read_as,
                exists (select 1 from ${catalog} c where c.event = r.event)
                and (r.property is null or exists (select 1 from ${properties} p
                     where p.event = r.event and p.property = r.property and (r.read_as is null or p.json_type = r.read_as))) as known
         from refs r`,
        references.flatMap((r) => [r.definition, r.event, r.property, r.readAs]),
      );
    },
  });
};
