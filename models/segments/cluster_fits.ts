import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { kmeansFit } from '../../src/segments/cluster-sql.ts';
import { definitionHash } from '../../src/segments/definition-hash.ts';
import { refitAfterInterval, type ClusterSegment } from '../../src/segments/segment-definition.ts';
import { segmentFeatures } from '../../src/segments/trait-definitions.ts';

export const REFIT_REASONS = ['no previous fit', 'definition changed', 'refit_after elapsed'] as const;

/**
 * A function of the project: the cluster definitions decide its SQL. The fit of each
 * definition is kept from the previous build while it fits the same definition (content
 * hash and version: seed, k, features, population, iterations) and is younger, in
 * reference time, than its refit_after; otherwise k-means runs again over the whole
 * population (the previous version is not offered on --full-refresh, nor after a
 * reverted batch, so those refit too). The k-means subquery sits under a one-time filter
 * on the reason, so PostgreSQL does not run it when the fit is kept.
 */
export default (project: ProjectContent) => defineModel({
  name: 'segments.cluster_fits',
  description:
    'The k-means fit of each cluster definition in segments/: standardization (means, sds) and centroids (z-scores, cluster_1 first), with what it was fitted on (definition hash and version, seed, features, reference time) and why it was (re)fitted. segments.cluster_assignments scores users against it.',
  owner: 'data-platform',
  tags: ['segments'],
  readsPrevious: true,
  columns: {
    definition: { type: 'text', description: 'Cluster definition', tests: ['not_null', 'unique'] },
    version: { type: 'integer', description: 'Definition version fitted', tests: ['not_null'] },
    definition_hash: { type: 'text', description: 'Content hash of the definition fitted (src/segments/definition-hash.ts): a change forces a refit', tests: ['not_null'] },
    seed: { type: 'integer', description: 'Seed of the initial centroids', tests: ['not_null'] },
    k: { type: 'integer', description: 'Clusters', tests: ['not_null'] },
    features: { type: 'text[]', description: 'Features clustered, in the order of means, sds and each centroid', tests: ['not_null'] },
    population_users: { type: 'integer', description: 'Users the fit was computed over', tests: ['not_null'] },
    steps: { type: 'integer', description: "Lloyd steps run", tests: ['not_null'] },
    converged: { type: 'boolean', description: 'Stopped at a fixed point (no centroid moved more than 1e-9 z) rather than at the iteration cap', tests: ['not_null'] },
    means: { type: 'double precision[]', description: 'Population mean of each feature at fit time (what a score standardizes with)' },
    sds: { type: 'double precision[]', description: 'Population standard deviation of each feature at fit time; null where the feature did not vary' },
    centroids: { type: 'double precision[]', description: 'k × d centroid coordinates in z-scores, cluster_1 first' },
    fitted_reference_at: { type: 'timestamptz', description: 'Reference time (core.reference_time) of the data fitted; refit_after is measured from it', tests: ['not_null'] },
    fitted_at: { type: 'timestamptz', description: 'Wall-clock time of the build that fitted (identifies the fit)', tests: ['not_null'] },
    fit_reason: { type: 'text', description: 'Why this fit was made: no previous fit (first build, --full-refresh or a reverted batch), definition changed, refit_after elapsed', tests: ['not_null', { accepted_values: [...REFIT_REASONS] }] },
  },
  build: (knex, { ref, previous }) => {
    const features = segmentFeatures(project.traits, (name) => ref(name).toQuery());
    const reference = `(select as_of_at from ${ref('core.reference_time').toQuery()})`;
    const definitions = project.segments.filter((d): d is ClusterSegment => d.kind === 'cluster');
    const columns = 'definition, version, definition_hash, seed, k, features, population_users, steps, converged, means, sds, centroids, fitted_reference_at, fitted_at, fit_reason';
    if (definitions.length === 0) {
      return knex.raw(`select null::text as definition, null::int as version, null::text as definition_hash, null::int as seed, null::int as k, null::text[] as features,
        null::int as population_users, null::int as steps, null::boolean as converged, null::float8[] as means, null::float8[] as sds, null::float8[] as centroids,
        null::timestamptz as fitted_reference_at, null::timestamptz as fitted_at, null::text as fit_reason where false`);
    }
    const parts = definitions.map((d) => {
      const fit = kmeansFit(d, features, project.featureCatalog.catalog);
      if (!previous) {
        return { sql: `select fit.*, ${reference} as fitted_reference_at, now() as fitted_at, 'no previous fit'::text as fit_reason from (${fit.sql}) fit`, bindings: fit.bindings };
      }
      const before = `(select * from ${previous.this.toQuery()} p where p.definition = ?)`;
      return {
        sql: `
          with kept as (
            select ${columns} from ${before} p where p.definition_hash = ? and p.version = ? and ${reference} - p.fitted_reference_at < ?::interval
          ),
          refit as (
            select case when exists (select 1 from kept) then null
                        when not exists (select 1 from ${before} b) then 'no previous fit'
                        when exists (select 1 from ${before} b where b.definition_hash <> ? or b.version <> ?) then 'definition changed'
                        else 'refit_after elapsed' end as reason
          )
          select ${columns} from kept
          union all
          select fit.*, ${reference} as fitted_reference_at, now() as fitted_at, refit.reason as fit_reason
          from (${fit.sql}) fit cross join refit
          where (select reason from refit) is not null`,
        bindings: [d.name, definitionHash(d), d.version, refitAfterInterval(d), d.name, d.name, definitionHash(d), d.version, ...fit.bindings],
      };
    });
    return knex.raw(parts.map((p) => `(${p.sql})`).join('\nunion all\n'), parts.flatMap((p) => p.bindings));
  },
});
