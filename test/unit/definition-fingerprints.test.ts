/**
 * The project's definition fingerprints (src/models/definition-changes.ts) do what the runner
 * relies on: the same project compiles to the same fingerprints (else every build would be a
 * full one), a pinned reference time changes only core.reference_time, which is read as data
 * (else pinning it daily would rebuild everything daily), and the settings that re-derive every
 * user (order types) change a model upstream of every incremental model reading money. No database.
 */
import { expect, it } from 'vitest';
import { definitionFingerprint, definitionUpstreams } from '../../src/models/definition-changes.ts';
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

it('a pinned reference time changes only core.reference_time, which no model counts as a definition upstream', async () => {
  const { models } = await loadTestProject();
  const floating = fingerprints(models);
  const pinned = fingerprints((await loadTestProject({ SEGLAYER_REFERENCE_TIME: '2026-03-01T00:00:00Z' })).models);
  expect(Object.keys(floating).filter((name) => floating[name] !== pinned[name])).toEqual(['core.reference_time']);
  const graph = buildGraph(models);
  expect(graph.downstream.get('core.reference_time')!.size).toBeGreaterThan(0);
  expect(models.filter((m) => definitionUpstreams(graph, m.name).includes('core.reference_time')).map((m) => m.name)).toEqual([]);
});

it('order settings, rates and traits are definitions upstream of the incremental models they feed', async () => {
  const { models } = await loadTestProject();
  const base = fingerprints(models);
  const orders = fingerprints((await loadTestProject({ SEGLAYER_ORDER_TYPES: 'purchase' })).models);
  expect(Object.keys(base).filter((name) => base[name] !== orders[name])).toContain('staging.stg_outcomes');
  const graph = buildGraph(models);
  for (const name of ['features.user_facts', 'marts.user_days', 'marts.experiment_user_metrics', 'features.user_features', 'core.fct_outcomes']) {
    expect(incremental(models)).toContain(name);
    expect(definitionUpstreams(graph, name)).toEqual(expect.arrayContaining(['core.fx_rates', 'staging.stg_outcomes']));
  }
  expect(definitionUpstreams(graph, 'core.fct_events')).toContain('staging.stg_events');
  expect(definitionUpstreams(graph, 'segments.current_membership')).toContain('features.user_traits');
});
