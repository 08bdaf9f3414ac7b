import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { ruleMembers } from '../../src/segments/segment-sql.ts';
import { segmentFeatures } from '../../src/segments/trait-definitions.ts';
import type { RuleSegment } from '../../src/segments/segment-definition.ts';

/** A function of the project: the segment definitions decide its SQL. */
export default (project: ProjectContent) => defineModel({
  name: 'segments.current_membership',
  description: 'Who is in which segment as of this build: rule segments, RFM bands and clusters, one row per user and segment.',
  owner: 'data-platform',
  tags: ['segments'],
  tests: [{ unique_combination: ['user_key', 'definition', 'segment'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Definition name (segments/*.yml)', tests: ['not_null'] },
    segment: { type: 'text', description: 'The segment: the definition name for rules, the band for RFM, cluster_n for clusters', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
  },
  build: (knex, { ref }) => {
    ref('segments.definition_versions'); // after it: a definition changed under an old version stops membership there
    const features = segmentFeatures(project.traits, (name) => ref(name).toQuery());
    // Event predicates read events and outcomes up to the features' reference time (as_of_at).
    const sources = { events: ref('core.fct_events').toQuery(), outcomes: ref('core.fct_outcomes').toQuery(), identities: ref('core.user_identity_map').toQuery() };
    const rules = project.segments.filter((d): d is RuleSegment => d.kind === 'rule').map((d) => ruleMembers(d, features, project.featureCatalog.catalog, sources));
    const parts = [
      ...rules,
      { sql: `select user_key, definition, band as segment, version from ${ref('segments.rfm_scores').toQuery()} where band is not null`, bindings: [] },
      { sql: `select user_key, definition, segment, version from ${ref('segments.cluster_assignments').toQuery()}`, bindings: [] },
    ];
    return knex.raw(parts.map((p) => `(${p.sql})`).join('\nunion all\n'), parts.flatMap((p) => p.bindings));
  },
});
