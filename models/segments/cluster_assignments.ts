import { touchedCte } from '../../src/identity/touched-users-rows.ts';
import type { Knex } from 'knex';
import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { clusterPopulation, nearestCentroidSql } from '../../src/segments/cluster-sql.ts';
import { populationRule } from '../../src/segments/population-rule.ts';
import type { ClusterSegment } from '../../src/segments/segment-definition.ts';
import { segmentFeatures } from '../../src/segments/trait-definitions.ts';
import { FACT_COLUMNS } from '../features/user_facts.ts';

/**
 * Whether a definition reads only features a user's own events, outcomes and costs decide (features.user_facts'
 * columns, which features.user_features repeats): never the reference time or a trait. Their values then change
 * only for the users new batches touch (a changed definition of any model above rebuilds this one in full).
 */
const readsOnlyFacts = (definition: ClusterSegment, catalog: ProjectContent['featureCatalog']['catalog']) =>
  [...definition.cluster.features, ...populationRule(definition.cluster.population, catalog).features].every((f) => f in FACT_COLUMNS);

/**
 * True for a stored row (`alias`) of a touched user (the `touched` CTE) or of a key merged away (no longer in
 * core.dim_users: an anti-join over the table, one row per user and definition, 20–30 ms at 20k users where
 * goneKeys' lookups of every candidate key cost 0.1 s).
 */
const touchedOrGone = (alias: string, ref: (name: string) => Knex.Raw) =>
  `(${alias}.user_key in (select user_key from touched) or not exists (select 1 from ${ref('core.dim_users')} u where u.user_key = ${alias}.user_key))`;

/** True when the definition has stored rows, all scored against its current fit and version (`self`: the published table). */
const scoredAgainstCurrentFit = (self: string, fits: string, definition: ClusterSegment) => ({
  sql: `(exists (select 1 from ${self} r where r.definition = ?)
          and not exists (select 1 from ${self} r where r.definition = ?
                          and (r.version <> ? or r.fitted_at is distinct from (select fitted_at from ${fits} where definition = ?))))`,
  bindings: [definition.name, definition.name, definition.version, definition.name],
});

/**
 * A function of the project: the segment definitions decide its SQL. Each user of a
 * definition's population is scored against the definition's current fit
 * (segments.cluster_fits): the nearest stored centroid. A user's cluster is a function of
 * the fit and of their own feature values only, so a stored row is kept when it was scored
 * against the same fit (fitted_at) and version from the same values (scored_values).
 * Incremental by user_key: a build compares every user's values with the stored ones (a
 * pass over users) and writes only the users with a row not kept (new users, users whose
 * features changed, users who left a population; everyone after a refit), all their
 * definitions' rows; a user left with no row is deleted (staleKeys). Rewriting the 20k
 * unchanged rows and analysing their arrays was most of its cost.
 *
 * For a definition that reads only user_facts' features (readsOnlyFacts), whose stored rows were all scored
 * against the current fit and version, the pass is over the touched users and the keys merged away only
 * (`restricted_<i>`, decided in SQL): nobody else's values can have changed. A refit, a new version or no
 * stored rows mean the pass over every user, as before (the whole population, 3.9 s at 100k users, for 0.1 s of
 * changes).
 */
export default (project: ProjectContent) => {
  const definitions = project.segments.filter((d): d is ClusterSegment => d.kind === 'cluster');
  return defineModel({
    name: 'segments.cluster_assignments',
    description:
      'The cluster of every user in the population of each cluster definition in segments/: the nearest centroid of the definition\'s fit (segments.cluster_fits), with the fit and the feature values it was scored from.',
    owner: 'data-platform',
    tags: ['segments'],
    materialized: 'incremental',
    incremental: { uniqueKey: 'user_key' },
    indexes: [['user_key']],
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
    // Stored rows of users now outside their definition's population (of the touched users and the keys merged away
    // when restricted), or of a definition no longer defined.
    staleKeys: (knex, { ref, incremental }) => {
      const features = segmentFeatures(project.traits, (name) => ref(name).toQuery());
      const self = incremental!.this.toQuery();
      const fits = ref('segments.cluster_fits').toQuery();
      const narrow = definitions.filter((d) => readsOnlyFacts(d, project.featureCatalog.catalog));
      const left = definitions.map((d) => {
        const population = clusterPopulation(d, features, project.featureCatalog.catalog);
        const current = narrow.includes(d) ? scoredAgainstCurrentFit(self, fits, d) : undefined;
        return {
          sql: `select s.user_key from ${self} s where s.definition = ?
                ${current ? `and (not ${current.sql} or ${touchedOrGone('s', ref)})` : ''}
                and not exists (select 1 from (${population.sql}) n where n.user_key = s.user_key)`,
          bindings: [d.name, ...(current?.bindings ?? []), ...population.bindings],
        };
      });
      const gone = { sql: `select user_key from ${self} where not (definition = any(?::text[]))`, bindings: [definitions.map((d) => d.name)] };
      const parts: { sql: string; bindings: unknown[] }[] = [...left, gone];
      return knex.raw(`${narrow.length ? `with ${touchedCte(knex, ref, incremental!)}\n` : ''}${parts.map((p) => p.sql).join('\nunion\n')}`, parts.flatMap((p) => p.bindings) as never);
    },
    build: (knex, { ref, incremental }) => {
      if (definitions.length === 0) {
        return knex.raw(`select null::text as user_key, null::text as definition, null::int as version, null::text as segment, null::timestamptz as fitted_at,
          null::float8[] as scored_values, null::timestamptz as scored_reference_at where false`);
      }
      const features = segmentFeatures(project.traits, (name) => ref(name).toQuery());
      const fits = ref('segments.cluster_fits').toQuery();
      const reference = `(select as_of_at from ${ref('core.reference_time').toQuery()})`;
      const ctes: { sql: string; bindings: unknown[] }[] = [];
      const narrow = new Map<number, { sql: string; bindings: unknown[] }>();
      definitions.forEach((d, i) => {
        const population = clusterPopulation(d, features, project.featureCatalog.catalog);
        // Kept: scored against this very fit and version from the values the user has now (array equality treats missing values alike).
        const kept = incremental
          ? `select s.user_key, s.segment, s.scored_values, s.scored_reference_at
             from ${incremental.this.toQuery()} s join population_${i} n on n.user_key = s.user_key and n.scored_values = s.scored_values
             where s.definition = ? and s.version = ? and s.fitted_at = (select fitted_at from fit_${i})`
          : `select null::text as user_key, null::text as segment, null::float8[] as scored_values, null::timestamptz as scored_reference_at where false`;
        // Restricted (see above): the touched users' part of the population only.
        const current = incremental && readsOnlyFacts(d, project.featureCatalog.catalog) ? scoredAgainstCurrentFit(incremental.this.toQuery(), fits, d) : undefined;
        if (current) narrow.set(i, current);
        ctes.push({
          sql: `fit_${i} as (select * from ${fits} where definition = ?),
            ${current ? `restricted_${i} as materialized (select ${current.sql} as restricted),` : ''}
            population_${i} as (${current ? `select * from (${population.sql}) p where not (select restricted from restricted_${i}) or p.user_key in (select user_key from touched)` : population.sql}),
            kept_${i} as (${kept}),
            rescored_${i} as (select n.* from population_${i} n where not exists (select 1 from kept_${i} k where k.user_key = n.user_key)),
            scored_${i} as (${nearestCentroidSql(d, `rescored_${i}`, `fit_${i}`)})`,
          bindings: [d.name, ...(current?.bindings ?? []), ...population.bindings, ...(incremental ? [d.name, d.version] : [])],
        });
      });
      // Users with a row to add or to drop (rescored; outside a population they have a row for; of a definition
      // no longer defined): every row of theirs is replaced, so their kept rows are written again with the new ones.
      const self = incremental?.this.toQuery();
      const changed = incremental
        ? `, changed as materialized (
            ${definitions.map((_, i) => `select user_key from rescored_${i}
            union select s.user_key from ${self} s where s.definition = ?
              ${narrow.has(i) ? `and (not (select restricted from restricted_${i}) or ${touchedOrGone('s', ref)})` : ''}
              and not exists (select 1 from population_${i} n where n.user_key = s.user_key)`).join('\n            union ')}
            union select user_key from ${self} where not (definition = any(?::text[])))`
        : '';
      const changedBindings = incremental ? [...definitions.map((d) => d.name), definitions.map((d) => d.name)] : [];
      const rows = definitions.map((d, i) => ({
        sql: `select k.user_key, ?::text as definition, ?::int as version, k.segment, (select fitted_at from fit_${i}) as fitted_at, k.scored_values, k.scored_reference_at
            from kept_${i} k${incremental ? ' where k.user_key in (select user_key from changed)' : ''}
            union all
            select s.user_key, ?, ?, 'cluster_' || s.cluster, (select fitted_at from fit_${i}), s.scored_values, ${reference} from scored_${i} s`,
        bindings: [d.name, d.version, d.name, d.version],
      }));
      return knex.raw(
        `with ${narrow.size ? `${touchedCte(knex, ref, incremental!)},\n` : ''}${ctes.map((c) => c.sql).join(',\n')}${changed}\n${rows.map((r) => `(${r.sql})`).join('\nunion all\n')}`,
        [...ctes.flatMap((c) => c.bindings), ...changedBindings, ...rows.flatMap((r) => r.bindings)] as never,
      );
    },
  });
};
