/**
 * Clusters as a fitted model and a score, the way a mature tool runs them: fit k-means
 * now and then (segments.cluster_fits keeps the fit with what it was fitted on), score
 * every day (segments.cluster_assignments puts each new or changed user at the nearest
 * stored centroid). A fit is a function of the population and the definition only, so the
 * same seed on the same data gives the same fit; a score is a function of the fit and the
 * user's own feature values only, so an unchanged user keeps their cluster.
 */
import type { FeatureCatalog } from './rule-compiler.ts';
import { definitionHash } from './definition-hash.ts';
import { populationRule } from './population-rule.ts';
import type { ClusterSegment } from './segment-definition.ts';

export interface Sql {
  sql: string;
  bindings: (string | number | boolean)[];
}

const q = (identifier: string) => `"${identifier}"`;

/** `array[f."a"::float8, ...]`: the definition's feature values of the features row `f`, in its order. */
export const featureValuesSql = (definition: ClusterSegment) =>
  `array[${definition.cluster.features.map((n) => `f.${q(n)}::float8`).join(', ')}]::float8[]`;

/**
 * user_key, scored_values (featureValuesSql) of the definition's population: the users its
 * population rule selects from `features`.
 */
export function clusterPopulation(definition: ClusterSegment, features: string, catalog: FeatureCatalog): Sql {
  const population = populationRule(definition.cluster.population, catalog);
  return { sql: `select f.user_key, ${featureValuesSql(definition)} as scored_values from ${features} f where ${population.sql}`, bindings: population.bindings };
}

/**
 * The label (1..k) of the centroid nearest to each point: `points` has user_key and
 * scored_values, `fit` one row with means, sds (null where a feature has no spread) and
 * centroids (k × d, cluster 1 first). A value is standardized with the fit's mean and sd
 * (missing or no spread: 0, the mean); ties go to the lower label.
 */
export function nearestCentroidSql(definition: ClusterSegment, points: string, fit: string): string {
  const d = definition.cluster.features.length;
  const dims = Array.from({ length: d }, (_, j) => j + 1);
  const z = `array[${dims.map((j) => `coalesce((pt.scored_values[${j}] - ft.means[${j}]) / ft.sds[${j}], 0)`).join(', ')}]`;
  const distance = (c: number) => dims.map((j) => `power(zp.z[${j}] - zp.centroids[${(c - 1) * d + j}], 2)`).join(' + ');
  const clusters = Array.from({ length: definition.cluster.k }, (_, i) => i + 1);
  // offset 0 keeps zp a subquery: flattened, every zp.z[j] of every distance rebuilt the whole z array (k × d times a user).
  return `
    select zp.user_key, zp.scored_values,
           (select c from (values ${clusters.map((c) => `(${c}, ${distance(c)})`).join(', ')}) dist(c, d) order by d, c limit 1) as cluster
    from (select pt.user_key, pt.scored_values, ${z} as z, ft.centroids from ${points} pt cross join ${fit} ft offset 0) zp`;
}

/**
 * One row: the k-means fit of the definition over its population, in the columns of
 * segments.cluster_fits (less the reference time, wall clock and reason of the fit).
 *
 * Lloyd's algorithm in one recursive query: features standardized to z-scores (a missing
 * value counts as the mean), k initial centroids picked by md5(user_key, seed) (so a
 * seed reproduces the result), iterations until no centroid moves by more than 1e-9 z
 * (Lloyd's fixed point) or `iterations` is reached, an empty cluster keeps its centroid.
 * Centroids travel as one flat array (k × d) because a recursive query may not aggregate
 * its own previous step. Clusters are labelled 1..k by their centroid on the first
 * feature (ties by seed order), so labels are stable too; `centroids` is in label order.
 */
export function kmeansFit(definition: ClusterSegment, features: string, catalog: FeatureCatalog): Sql {
  const { k, seed, iterations } = definition.cluster;
  const names = definition.cluster.features;
  const d = names.length;
  const population = clusterPopulation(definition, features, catalog);
  const x = (j: number) => `x${j + 1}`;
  const dims = names.map((_, j) => j);
  const distance = (centroids: string, cluster: number) =>
    dims.map((j) => `power(p.${x(j)} - ${centroids}[${cluster * d + j + 1}], 2)`).join(' + ');
  const nearest = (centroids: string) =>
    `(select cid from (values ${Array.from({ length: k }, (_, c) => `(${c}, ${distance(centroids, c)})`).join(', ')}) dist(cid, d) order by d, cid limit 1)`;
  return {
    sql: `
      -- In user_key order: float sums depend on the order they add up in, and a table's physical order on how it was
      -- built (an incremental features build stores rows in another order than a full one), so a refit would not equal --full-refresh.
      with recursive population as (${population.sql} order by f.user_key),
      stats as (
        select ${dims.map((j) => `avg(scored_values[${j + 1}]) as mean${j + 1}, nullif(stddev_pop(scored_values[${j + 1}]), 0) as sd${j + 1}`).join(', ')},
               count(*)::int as users
        from population
      ),
      points as (
        select p.user_key, ${dims.map((j) => `coalesce((p.scored_values[${j + 1}] - s.mean${j + 1}) / s.sd${j + 1}, 0) as ${x(j)}`).join(', ')}
        from population p cross join stats s
      ),
      seeds as (
        select * from points order by md5(user_key || ':' || ?::text), user_key limit ?
      ),
      steps (step, centroids, shift) as (
        select 0, (select array_agg(v order by n) from (
                     select row_number() over (order by md5(user_key || ':' || ?::text), user_key) as r, ${dims.map((j) => x(j)).join(', ')} from seeds
                   ) s cross join lateral (values ${dims.map((j) => `((s.r - 1) * ${d} + ${j + 1}, s.${x(j)})`).join(', ')}) flat(n, v)),
               'infinity'::float8
        union all
        select step + 1, next.centroids,
               (select max(abs(next.centroids[i] - steps.centroids[i])) from generate_subscripts(next.centroids, 1) i)
        from steps cross join lateral (
          select array_agg(coalesce(moved.v, steps.centroids[slot.n]) order by slot.n) as centroids
          from (select c * ${d} + j + 1 as n, c, j from generate_series(0, ${k - 1}) c cross join generate_series(0, ${d - 1}) j) slot
          left join (
            select a.cid, j, avg(case j ${dims.map((jj) => `when ${jj} then p.${x(jj)}`).join(' ')} end) as v
            from points p cross join lateral ${nearest('steps.centroids')} as a(cid)
            cross join generate_series(0, ${d - 1}) j
            group by a.cid, j
          ) moved on moved.cid = slot.c and moved.j = slot.j
        ) next
        -- converged: assignments no longer change, so neither do the centroids
        where steps.step < ? and steps.shift > 1e-9
      ),
      final as (select step, centroids, shift from steps order by step desc limit 1),
      labels as (
        select c as cid, rank() over (order by (select centroids[c * ${d} + 1] from final), c) as cluster from generate_series(0, ${k - 1}) c
      ),
      labelled as (
        select array_agg(f.centroids[l.cid * ${d} + j + 1] order by l.cluster, j) as centroids
        from labels l cross join generate_series(0, ${d - 1}) j cross join final f
      )
      select ?::text as definition, ?::int as version, ?::text as definition_hash, ?::int as seed, ?::int as k, ?::text[] as features,
             s.users as population_users, f.step as steps, coalesce(f.shift <= 1e-9, false) as converged,
             array[${dims.map((j) => `s.mean${j + 1}`).join(', ')}]::float8[] as means,
             array[${dims.map((j) => `s.sd${j + 1}`).join(', ')}]::float8[] as sds,
             l.centroids
      from stats s cross join final f cross join labelled l`,
    bindings: [
      ...population.bindings,
      String(seed), k, String(seed), iterations,
      // features: identifiers (validated snake_case), as an array literal
      definition.name, definition.version, definitionHash(definition), seed, k, `{${names.join(',')}}`,
    ],
  };
}

/**
 * user_key, definition, version, segment of every user in the population, fitted and
 * scored in one query: a preview straight from the features (the models store the fit).
 */
export function kmeansAssignments(definition: ClusterSegment, features: string, catalog: FeatureCatalog): Sql {
  const fit = kmeansFit(definition, features, catalog);
  const population = clusterPopulation(definition, features, catalog);
  return {
    sql: `with preview_fit as (${fit.sql}), preview_population as (${population.sql})
      select s.user_key, ?::text as definition, ?::int as version, 'cluster_' || s.cluster as segment
      from (${nearestCentroidSql(definition, 'preview_population', 'preview_fit')}) s`,
    bindings: [...fit.bindings, ...population.bindings, definition.name, definition.version],
  };
}
