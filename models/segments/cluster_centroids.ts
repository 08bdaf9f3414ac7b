import { defineModel } from '../../src/models/model-definition.ts';
import { segmentFeatures } from '../../src/segments/trait-definitions.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import type { ClusterSegment } from '../../src/segments/segment-definition.ts';

/** A function of the project: the segment definitions decide its SQL. */
export default (project: ProjectContent) => defineModel({
  name: 'segments.cluster_centroids',
  description: 'Centroid of each cluster per feature, in the feature\'s units and as a z-score, with a short description of what sets the cluster apart.',
  owner: 'data-platform',
  tags: ['segments'],
  tests: [{ unique_combination: ['definition', 'segment', 'feature'] }],
  columns: {
    definition: { type: 'text', description: 'Cluster definition', tests: ['not_null'] },
    segment: { type: 'text', description: 'cluster_n', tests: ['not_null'] },
    members: { type: 'integer', description: 'Users in the cluster', tests: ['not_null'] },
    feature: { type: 'text', description: 'Feature', tests: ['not_null'] },
    mean: { type: 'numeric', description: 'Mean of the feature in the cluster (missing values as the population mean)' },
    z_score: { type: 'numeric', description: 'That mean in standard deviations from the population mean' },
    description: { type: 'text', description: 'Features at least 0.5 SD above or below the population, e.g. "high sessions, low monetary_usd"' },
  },
  build: (knex, { ref }) => {
    const features = segmentFeatures(project.traits, (name) => ref(name).toQuery());
    const assignments = ref('segments.cluster_assignments').toQuery();
    const parts = project.segments
      .filter((d): d is ClusterSegment => d.kind === 'cluster')
      .flatMap((d) => d.cluster.features.map((feature) => ({ definition: d.name, feature })));
    if (parts.length === 0) {
      return knex.raw(`select null::text as definition, null::text as segment, null::int as members, null::text as feature, null::numeric as mean, null::numeric as z_score, null::text as description where false`);
    }
    // Assignments joined with the features once per definition (joined_<i>), not once per feature; each feature's
    // rows then read that 20k-row table. The union of constant-feature branches keeps the planner's group estimates.
    // Part j's column is feature_<j>: a feature named like definition or segment cannot collide.
    const definitions = [...new Set(parts.map((p) => p.definition))];
    const featuresOf = (definition: string) => parts.flatMap((p, j) => (p.definition === definition ? [`f."${p.feature}" as feature_${j}`] : [])).join(', ');
    const joined = definitions.map((d, i) => `joined_${i} as materialized (select a.definition, a.segment, ${featuresOf(d)} from ${assignments} a join ${features} f using (user_key) where a.definition = ?)`);
    const values = parts.map((p, j) => `select definition, segment, ?::text as feature, feature_${j}::numeric as value from joined_${definitions.indexOf(p.definition)}`);
    return knex.raw(
      `
      with ${joined.join(',\n      ')},
      long as (${values.join('\nunion all\n')}),
      population as (select definition, feature, avg(value) as mean, nullif(stddev_pop(value), 0) as sd from long group by 1, 2),
      clusters as (
        select l.definition, l.segment, l.feature, count(*)::int as members, avg(coalesce(l.value, p.mean)) as mean,
               (avg(coalesce(l.value, p.mean)) - p.mean) / p.sd as z_score
        from long l join population p using (definition, feature) group by l.definition, l.segment, l.feature, p.mean, p.sd
      ),
      described as (
        select definition, segment,
               coalesce(string_agg(case when z_score >= 0.5 then 'high ' else 'low ' end || feature, ', ' order by abs(z_score) desc, feature)
                        filter (where abs(z_score) >= 0.5), 'close to the average') as description
        from clusters group by 1, 2
      )
      select c.definition, c.segment, c.members, c.feature, round(c.mean, 4) as mean, round(c.z_score, 4) as z_score, d.description
      from clusters c join described d using (definition, segment)`,
      [...definitions, ...parts.map((p) => p.feature)],
    );
  },
});
