/**
 * The project's definition fingerprints (src/models/definition-changes.ts) do what the runner
 * relies on: the same project compiles to the same fingerprints (else every build would be a
 * full one), a pinned reference time changes no incremental model's (else pinning it daily
 * would rebuild everything daily: the reference time reaches models as data), and the settings
 * and files that re-derive every user (order types, traits) change a reference model's, which
 * every incremental model reading money or traits has upstream. No database.
 */
import { expect, it } from 'vitest';
import { definitionFingerprint, referenceUpstreams } from '../../src/models/definition-changes.ts';
import { buildGraph } from '../../src/models/model-runner.ts';
import type { Model } from '../../src/models/model-discovery.ts';
import { loadTestProject } from '../support/test-project.ts';

const fingerprints = (models: Model[]) => {
  const known = new Set(models.map((m) => m.name));
  return Object.fromEntries(models.map((m) => [m.name, definitionFingerprint(m, known)]));
};
const incremental = (models: Model[]) => models.filter((m) => m.materialized === 'incremental').map((m) => m.name);

it('compiles the same project to the same fingerprints', async () => {
  const [a, b] = [fingerprints((await loadTestProject()).models), fingerprints((await loadTestProject()).models)];
  expect(Object.keys(a).length).toBeGreaterThan(40);
  expect(b).toEqual(a);
});

it('a pinned reference time changes only core.reference_time, which is no reference model', async () => {
  const { models } = await loadTestProject();
  const floating = fingerprints(models);
  const pinned = fingerprints((await loadTestProject({ SEGLAYER_REFERENCE_TIME: '2026-03-01T00:00:00Z' })).models);
  expect(Object.keys(floating).filter((name) => floating[name] !== pinned[name])).toEqual(['core.reference_time']);
  expect(models.find((m) => m.name === 'core.reference_time')!.reference).toBeFalsy();
});

it('order settings and traits change a reference model upstream of the incremental models they feed', async () => {
  const { models } = await loadTestProject();
  const base = fingerprints(models);
  const orders = fingerprints((await loadTestProject({ SEGLAYER_ORDER_TYPES: 'purchase' })).models);
  const changedByOrders = Object.keys(base).filter((name) => base[name] !== orders[name]);
  expect(changedByOrders).toContain('staging.stg_outcomes');
  const graph = buildGraph(models);
  const byName = new Map(models.map((m) => [m.name, m]));
  // Every changed model is a reference model, or is downstream of one that changed (so its readers rebuild).
  for (const name of changedByOrders) expect(byName.get(name)!.reference || referenceUpstreams(graph, name).some((r) => changedByOrders.includes(r)), name).toBe(true);
  // The incremental models computing money per user rebuild when rates or order settings change.
  for (const name of ['features.user_facts', 'marts.user_days', 'marts.experiment_user_metrics', 'features.user_features']) {
    expect(incremental(models)).toContain(name);
    expect(referenceUpstreams(graph, name)).toEqual(expect.arrayContaining(['core.fx_rates', 'staging.stg_outcomes']));
  }
  expect(referenceUpstreams(graph, 'segments.current_membership')).toContain('features.user_traits');
});
