import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { clusterPopulation, nearestCentroidSql } from '../../src/segments/cluster-sql.ts';
import type { ClusterSegment } from '../../src/segments/segment-definition.ts';
import { segmentFeatures } from '../../src/segments/trait-definitions.ts';

/**
 * A function of the project: the segment definitions decide its SQL. Each user of a
 * definition's population is scored against the definition's current fit
 * (segments.cluster_fits): the nearest stored centroid. A user's cluster is a function of
 * the fit and of their own feature values only, so a row of the previous version is kept
 * when it was scored against the same fit (fitted_at) from the same values (scored_values):
 * a build scores only new users and users whose features changed, and a refit rescores
 * everyone. Users who left the population (or the features) drop out.
 */
export default (project: ProjectContent) => defineModel({
  name: 'segments.cluster_assignments',
  description:
    'The cluster of every user in the population of each cluster definition in segments/: the nearest centroid of the definition\'s fit (segments.cluster_fits), with the fit and the feature values it was scored from.',
  owner: 'data-platform',
  tags: ['segments'],
  readsPrevious: true,
  tests: [{ unique_combination: ['user_key', 'definition'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Cluster definition name', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    segment: { type: 'text', description: 'cluster_1 .. cluster_k, numbered by the centroid on the first feature', tests: ['not_null'] },
    fitted_at: { type: 'timestamptz', description: 'The fit scored against (segments.cluster_fits.fitted_at)', tests: ['not_null'] },
    scored_values: { type: 'double precision[]', description: 'The feature values scored, in the order of segments.cluster_fits.features (null: missing, scored as the mean)', tests: ['not_null'] },
    scored_reference_at: { type: 'timestamptz', description: 'Reference time of the build that scored this row (an older one: kept, nothing it depends on changed since)', tests: ['not_null'] },
  },
  build: (knex, { ref, previous }) => {
    const features = segmentFeatures(project.traits, (name) => ref(name).toQuery());
    const fits = ref('segments.cluster_fits').toQuery();
    const reference = `(select as_of_at from ${ref('core.reference_time').toQuery()})`;
    const parts = project.segments
      .filter((d): d is ClusterSegment => d.kind === 'cluster')
      .map((d) => {
        const population = clusterPopulation(d, features, project.featureCatalog.catalog);
        // Kept: scored against this very fit from the values the user has now (array equality treats missing values alike).
        const kept = previous
          ? `select p.user_key, p.segment, p.scored_values, p.scored_reference_at
             from ${previous.this.toQuery()} p join population n on n.user_key = p.user_key and n.scored_values = p.scored_values
             where p.definition = ? and p.fitted_at = (select fitted_at from fit)`
          : `select null::text as user_key, null::text as segment, null::float8[] as scored_values, null::timestamptz as scored_reference_at where false`;
        return {
          sql: `
            with fit as (select * from ${fits} where definition = ?),
            population as (${population.sql}),
            kept as (${kept}),
            rescored as (select n.* from population n where not exists (select 1 from kept k where k.user_key = n.user_key)),
            scored as (${nearestCentroidSql(d, 'rescored', 'fit')})
            select k.user_key, ?::text as definition, ?::int as version, k.segment, (select fitted_at from fit) as fitted_at, k.scored_values, k.scored_reference_at from kept k
            union all
            select s.user_key, ?, ?, 'cluster_' || s.cluster, (select fitted_at from fit), s.scored_values, ${reference} from scored s`,
          bindings: [d.name, ...population.bindings, ...(previous ? [d.name] : []), d.name, d.version, d.name, d.version],
        };
      });
    if (parts.length === 0) {
      return knex.raw(`select null::text as user_key, null::text as definition, null::int as version, null::text as segment, null::timestamptz as fitted_at,
        null::float8[] as scored_values, null::timestamptz as scored_reference_at where false`);
    }
    return knex.raw(parts.map((p) => `(${p.sql})`).join('\nunion all\n'), parts.flatMap((p) => p.bindings));
  },
});
