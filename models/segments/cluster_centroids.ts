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
    // Per definition, the assignments joined with the features once (joined_<i>), then two grouped passes over those rows
    // with every feature side by side: the population's mean and SD, and each cluster's members and means. Unpivoted
    // to one row per feature only then: a long table of users × features (2.5M rows at 500k users) was hashed for the
    // population and sorted for the clusters, 13.7 of the model's 13.8 s (EXPLAIN ANALYZE, 500k users).
    // Part j's column is feature_<j>: a feature named like definition or segment cannot collide.
    const definitions = [...new Set(parts.map((p) => p.definition))];
    // Each definition's CTEs with their placeholders, in the order they appear: its feature columns and name
    // (joined_<i>), then its name and features (long_<i>).
    const perDefinition = definitions.map((definition, i) => {
      const mine = parts.flatMap((p, j) => (p.definition === definition ? [{ feature: p.feature, j }] : []));
      const ctes = [
        `joined_${i} as materialized (select a.segment, ${mine.map((m) => `f.??::numeric as feature_${m.j}`).join(', ')} from ${assignments} a join ${features} f using (user_key) where a.definition = ?)`,
        `population_${i} as (select ${mine.map((m) => `avg(feature_${m.j}) as mean_${m.j}, nullif(stddev_pop(feature_${m.j}), 0) as sd_${m.j}`).join(', ')} from joined_${i})`,
        // A missing value counts as the population mean (the column's documented meaning).
        `clusters_${i} as (select j.segment, count(*)::int as members, ${mine.map((m) => `avg(coalesce(j.feature_${m.j}, p.mean_${m.j})) as mean_${m.j}`).join(', ')} from joined_${i} j cross join population_${i} p group by j.segment)`,
        `long_${i} as (
        select ?::text as definition, c.segment, c.members, v.feature, v.mean, (v.mean - v.population_mean) / v.sd as z_score
        from clusters_${i} c cross join population_${i} p
        cross join lateral (values ${mine.map((m) => `(?::text, c.mean_${m.j}, p.mean_${m.j}, p.sd_${m.j})`).join(', ')}) v(feature, mean, population_mean, sd))`,
      ];
      const names = mine.map((m) => m.feature);
      return { ctes, bindings: [...names, definition, definition, ...names] };
    });
    return knex.raw(
      `
      with ${perDefinition.flatMap((d) => d.ctes).join(',\n      ')},
      clusters as (${definitions.map((_, i) => `select * from long_${i}`).join('\nunion all\n')}),
      described as (
        select definition, segment,
               coalesce(string_agg(case when z_score >= 0.5 then 'high ' else 'low ' end || feature, ', ' order by abs(z_score) desc, feature)
                        filter (where abs(z_score) >= 0.5), 'close to the average') as description
        from clusters group by 1, 2
      )
      select c.definition, c.segment, c.members, c.feature, round(c.mean, 4) as mean, round(c.z_score, 4) as z_score, d.description
      from clusters c join described d using (definition, segment)`,
      perDefinition.flatMap((d) => d.bindings),
    );
  },
});
