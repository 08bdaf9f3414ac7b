/**
 * Incremental rows go stale when what they were computed with changes outside the load
 * batches: the model's own SQL, or the SQL of any model upstream of it (a seed's rows bound
 * into core.fx_rates re-price every user's revenue, not only the users new batches touch;
 * stg_outcomes' order settings, traits.yml in user_traits, a fixed bug in stg_events).
 * Each successful model run records the definition fingerprints it was built with
 * (ops.model_runs.definition_fingerprints): its own full SQL's and, for every model upstream
 * at any depth, the fingerprint that model was last *published* with (not the project's
 * current one: a build that selects the downstream model alone must not take a rate it has
 * not seen yet).
 *
 * An incremental model whose own or any upstream fingerprint differs from what its last
 * success recorded is built in full; a `readsPrevious` model (segments' membership) does not
 * reuse its previous version on an upstream change (its own definitions are versioned per
 * segment, and it reuses per definition). A model marked `definitionReadAsData` (the pinned
 * reference time) is left out: models read its row as data and follow it. dbt leaves all of
 * this to `--full-refresh`; a wrong figure that looks fresh is the worse failure.
 */
import type { Knex } from 'knex';
import { compileModel } from './model-compiler.ts';
import { sqlFingerprint } from './model-changes.ts';
import type { Model } from './model-discovery.ts';
import type { ModelGraph } from './model-graph.ts';

export type DefinitionFingerprints = Record<string, string>;

/** The models upstream of `name` at any depth whose definitions its rows depend on, sorted. */
export function definitionUpstreams(graph: ModelGraph, name: string): string[] {
  const found = new Set<string>();
  const visit = (current: string) => {
    for (const up of graph.upstream.get(current) ?? []) {
      if (found.has(up)) continue;
      found.add(up);
      visit(up);
    }
  };
  visit(name);
  return [...found].filter((up) => !graph.byName.get(up)?.definitionReadAsData).sort();
}

/** The fingerprint of a model's definition: its full build's SQL, with every binding inlined. */
export const definitionFingerprint = (model: Model, known: Set<string>, knex?: Knex): string =>
  sqlFingerprint(compileModel(model, known, { knex }).sql);

/** What the latest successful run of each of `models` recorded (absent: never built, or from before they were recorded). */
async function lastRecorded(knex: Knex, models: string[]): Promise<Map<string, DefinitionFingerprints>> {
  const { rows } = await knex.raw(
    `select m.model, last.f from unnest(?::text[]) as m(model)
     cross join lateral (select r.definition_fingerprints as f from ops.model_runs r
                         where r.model = m.model and r.status = 'success' order by r.started_at desc, r.model_run_id desc limit 1) last
     where last.f is not null`,
    [models],
  );
  return new Map((rows as { model: string; f: DefinitionFingerprints }[]).map((r) => [r.model, r.f]));
}

export interface DefinitionCheck {
  /** What this run's success records for the model. */
  fingerprints: DefinitionFingerprints;
  /** The definitions (the model's own, or models upstream) changed since its last success; empty: none. */
  changed: string[];
  /** Whether its last success recorded fingerprints (runs before they were recorded did not). */
  recorded: boolean;
}

/**
 * The fingerprints `model` is built with now (every model records its own, which is what its
 * downstream models compare), and, for incremental and readsPrevious models, which differ from
 * its last success's. A model without a recorded set (built before they were recorded) counts
 * every one as changed: correctness first, one full build once.
 */
export async function checkDefinitions(knex: Knex, graph: ModelGraph, model: Model, known: Set<string>): Promise<DefinitionCheck> {
  const own = { [model.name]: definitionFingerprint(model, known, knex) };
  if (model.materialized !== 'incremental' && !model.readsPrevious) return { fingerprints: own, changed: [], recorded: true };
  const upstreams = definitionUpstreams(graph, model.name);
  // One read of the latest successes: the model's own record, and each upstream's fingerprint as it published it.
  const last = await lastRecorded(knex, [model.name, ...upstreams]);
  const published = Object.fromEntries(upstreams.flatMap((up) => (last.get(up)?.[up] ? [[up, last.get(up)![up]!]] : [])));
  const fingerprints: DefinitionFingerprints = { ...own, ...published };
  const recorded = last.get(model.name);
  // Own SQL counts for incremental models; a readsPrevious model versions its own definitions.
  const compared = [...(model.materialized === 'incremental' ? [model.name] : []), ...upstreams];
  const changed = compared.filter((name) => !recorded || recorded[name] !== fingerprints[name]);
  return { fingerprints, changed, recorded: recorded !== undefined };
}
