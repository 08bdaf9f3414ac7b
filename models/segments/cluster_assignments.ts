import { defineModel } from '../../src/models/model-definition.ts';
import { segmentFeatures } from '../../src/segments/trait-definitions.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { kmeansAssignments } from '../../src/segments/segment-sql.ts';
import type { ClusterSegment } from '../../src/segments/segment-definition.ts';

/** A function of the project: the segment definitions decide its SQL. */
export default (project: ProjectContent) => defineModel({
  name: 'segments.cluster_assignments',
  description: 'The k-means cluster of every user in the population of each cluster definition in segments/ (reproducible for its seed).',
  owner: 'data-platform',
  tags: ['segments'],
  tests: [{ unique_combination: ['user_key', 'definition'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Cluster definition name', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    segment: { type: 'text', description: 'cluster_1 .. cluster_k, numbered by the centroid on the first feature', tests: ['not_null'] },
  },
  build: (knex, { ref }) => {
    const parts = project.segments.filter((d): d is ClusterSegment => d.kind === 'cluster').map((d) => kmeansAssignments(d, segmentFeatures(project.traits, (name) => ref(name).toQuery()), project.featureCatalog.catalog));
    if (parts.length === 0) return knex.raw(`select null::text as user_key, null::text as definition, null::int as version, null::text as segment where false`);
    return knex.raw(parts.map((p) => `(${p.sql})`).join('\nunion all\n'), parts.flatMap((p) => p.bindings));
  },
});
