/**
 * The scheduler's expected seconds come from a model's last build of the kind it is expected to run now: an
 * incremental model's last incremental build for an incremental run (none on record right after a full build:
 * the scheduler then counts it as the median model), any last build for a --full-refresh.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { lastBuildSeconds, runModels } from '../../src/models/model-runner.ts';
import { pageViewEvents } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const SELECT = ['+core.fct_events'];
const build = async (fullRefresh = false) => {
  const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: SELECT, fullRefresh });
  expect(summary.ok, JSON.stringify(summary.results.filter((r) => r.status !== 'success'))).toBe(true);
  return summary.runId;
};
const recorded = async (runId: string) =>
  Object.fromEntries((await db.knex.raw(`select model, built_in_full from ops.model_runs where run_id = ? order by model`, [runId])).rows.map((r: { model: string; built_in_full: boolean }) => [r.model, r.built_in_full]));
const secondsOf = async (runId: string, model: string) =>
  (await db.knex.raw(`select extract(epoch from finished_at - started_at)::float8 as s from ops.model_runs where run_id = ? and model = ?`, [runId, model])).rows[0].s;

it('records how each model built, and expects an incremental model to take what its last incremental build took', async () => {
  const models = (await loadTestProject()).models;
  const fct = models.find((m) => m.name === 'core.fct_events')!;
  expect(fct.materialized).toBe('incremental');

  await loadFile(db.url, pageViewEvents('a.csv', [['a1', 'u1', '2025-01-10T10:00:00Z'], ['a2', 'u2', '2025-01-10T11:00:00Z']]), { into: 'events' });
  const first = await build();
  expect((await recorded(first))['core.fct_events']).toBe(true);
  // Right after a full build an incremental run has nothing of its kind to go by; a full refresh has.
  expect((await lastBuildSeconds(db.knex, [fct], false)).has('core.fct_events')).toBe(false);
  expect((await lastBuildSeconds(db.knex, [fct], true)).get('core.fct_events')).toBe(await secondsOf(first, 'core.fct_events'));

  await loadFile(db.url, pageViewEvents('b.csv', [['b1', 'u1', '2025-01-11T10:00:00Z']]), { into: 'events' });
  const second = await build();
  expect((await recorded(second))['core.fct_events']).toBe(false);
  expect((await lastBuildSeconds(db.knex, [fct], false)).get('core.fct_events')).toBe(await secondsOf(second, 'core.fct_events'));

  // A full refresh is recorded as such and does not replace what an incremental run expects.
  const third = await build(true);
  expect((await recorded(third))['core.fct_events']).toBe(true);
  expect((await lastBuildSeconds(db.knex, [fct], false)).get('core.fct_events')).toBe(await secondsOf(second, 'core.fct_events'));
  expect((await lastBuildSeconds(db.knex, [fct], true)).get('core.fct_events')).toBe(await secondsOf(third, 'core.fct_events'));
});
