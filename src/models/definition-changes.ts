/**
 * Incremental rows go stale when what they were computed with changes outside the load
 * batches: a model's own SQL, or a `reference` model upstream (a seed's rows, a project file
 * or a setting bound into its SQL: fx rates re-price every user's revenue, not only the users
 * new batches touch). Each successful model run records the definition fingerprints it was
 * built with (ops.model_runs.definition_fingerprints): its own full SQL, and, for each
 * reference model upstream, the fingerprint that reference model was last *published* with
 * (not the project's current one: a build that selects the downstream model but not the
 * reference must not take a rate it has not seen yet).
 *
 * An incremental model whose own SQL or any reference upstream's published definition
 * differs from what its last success recorded is built in full; a `readsPrevious` model
 * (segments' membership) does not reuse its previous version on a reference change — its own
 * definitions are versioned per segment, and it reuses per definition. dbt leaves both to
 * `--full-refresh`; a wrong figure that looks fresh is the worse failure.
 */
import type { Knex } from 'knex';
import { compileModel, quoteRelation } from './model-compiler.ts';
import { sqlFingerprint } from './model-changes.ts';
import type { Model } from './model-discovery.ts';
import type { ModelGraph } from './model-graph.ts';

export type DefinitionFingerprints = Record<string, string>;

/** The reference models upstream of `name`, at any depth, sorted. */
export function referenceUpstreams(graph: ModelGraph, name: string): string[] {
  const found = new Set<string>();
  const seen = new Set<string>();
  const visit = (current: string) => {
    for (const up of graph.upstream.get(current) ?? []) {
      if (seen.has(up)) continue;
      seen.add(up);
      if (graph.byName.get(up)?.reference) found.add(up);
      visit(up);
    }
  };
  visit(name);
  return [...found].sort();
}

/** The fingerprint of a model's definition: its full build's SQL, with every binding inlined. */
export const definitionFingerprint = (model: Model, known: Set<string>, knex?: Knex): string =>
  sqlFingerprint(compileModel(model, known, { knex }).sql);

/** Each reference model's definition fingerprint as its latest successful run published it (absent: never built). */
async function publishedFingerprints(knex: Knex, references: string[]): Promise<DefinitionFingerprints> {
  if (!references.length) return {};
  const { rows } = await knex.raw(
    `select m.model, last.fingerprint from unnest(?::text[]) as m(model)
     cross join lateral (select r.definition_fingerprints ->> r.model as fingerprint from ops.model_runs r
                         where r.model = m.model and r.status = 'success' order by r.started_at desc, r.model_run_id desc limit 1) last`,
    [references],
  );
  return Object.fromEntries((rows as { model: string; fingerprint: string | null }[]).filter((r) => r.fingerprint).map((r) => [r.model, r.fingerprint!]));
}

/** What the latest successful run of `model` recorded (undefined: none, or a run from before they were recorded). */
async function recordedFingerprints(knex: Knex, model: string): Promise<DefinitionFingerprints | undefined> {
  const { rows } = await knex.raw(
    `select definition_fingerprints as f from ops.model_runs where model = ? and status = 'success' order by started_at desc, model_run_id desc limit 1`,
    [model],
  );
  return rows[0]?.f ?? undefined;
}

export interface DefinitionCheck {
  /** What this run's success records for the model. */
  fingerprints: DefinitionFingerprints;
  /** The definitions (the model's own, or reference models upstream) changed since its last success; empty: none. */
  changed: string[];
  /** Whether its last success recorded fingerprints (runs before they were recorded did not). */
  recorded: boolean;
  /** Whether the published table exists (else a full build is a first build, not a rebuild). */
  builtBefore: boolean;
}

/**
 * The fingerprints `model` is built with now, and which of them differ from its last
 * success's. A model without a recorded set (built before they were recorded) counts every
 * one as changed: correctness first, one full build once.
 */
export async function checkDefinitions(knex: Knex, graph: ModelGraph, model: Model, known: Set<string>): Promise<DefinitionCheck> {
  const references = referenceUpstreams(graph, model.name);
  const fingerprints: DefinitionFingerprints = { [model.name]: definitionFingerprint(model, known, knex), ...(await publishedFingerprints(knex, references)) };
  const recorded = await recordedFingerprints(knex, model.name);
  // Own SQL counts for incremental models; a readsPrevious model versions its own definitions.
  const compared = [...(model.materialized === 'incremental' ? [model.name] : []), ...references];
  const changed = compared.filter((name) => !recorded || recorded[name] !== fingerprints[name]);
  const builtBefore = (await knex.raw(`select to_regclass(?) is not null as exists`, [quoteRelation(model.name)])).rows[0].exists as boolean;
  return { fingerprints, changed, recorded: recorded !== undefined, builtBefore };
}
