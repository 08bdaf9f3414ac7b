/**
 * A wrong load can be undone: load the demo, load two wrong batches (events and
 * purchases dated well inside the data, so incremental models must reach back for
 * them), build, revert both, build again — and every model relation equals a build
 * of the same database that never saw those batches (a second database, built once).
 * Append models (history of builds) and what reads them are the exception by design:
 * they keep the build that saw the batches, and record the revert's changes as new rows.
 * Wall-clock columns (when a cluster fit was made) are left out of the comparison.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revertBatch } from '../../src/batches/batch-revert.ts';
import { writeDemoFiles } from '../../src/demo/demo-generator.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { buildGraph, runModels } from '../../src/models/model-runner.ts';
import type { Project } from '../../src/project/project.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let reverted: TestDatabase;
let clean: TestDatabase;
let project: Project;
let wrongEvents: number;
let wrongOutcomes: number;

const EVENTS_HEADER = 'message_id,user_id,event,occurred_at,properties';
const wrongEventsFile = () => fixture('wrong-events.csv', csv(
  EVENTS_HEADER,
  ...Array.from({ length: 40 }, (_, i) => `rv-${i},u0000${String((i % 9) + 1).padStart(2, '0')},feature_used,2025-02-${String(10 + (i % 5)).padStart(2, '0')}T12:00:00Z,"{""feature"":""exports""}"`),
  'rv-new,u999999,app_opened,2025-02-12T08:00:00Z,{}',
));
const wrongOutcomesFile = () => fixture('wrong-outcomes.csv', csv(
  'outcome_id,user_id,outcome_type,occurred_at,amount,currency',
  'rv-o1,u000003,purchase,2025-02-11T10:00:00Z,999.00,USD',
  'rv-o2,u000005,purchase,2025-02-12T10:00:00Z,450.00,USD',
));

/**
 * Every relation the project builds, as sorted row texts. Append models are history (what
 * each build published, e.g. segments.membership_history) and so are the models read
 * from them: a build that saw the wrong batches is part of that history.
 */
/** Wall-clock columns: when a build did something (a cluster fit), which two databases cannot share. */
const WALL_CLOCK: Record<string, string[]> = { 'segments.cluster_fits': ['fitted_at'], 'segments.cluster_assignments': ['fitted_at'] };

async function snapshot(db: TestDatabase): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const history = new Set(buildGraph(project.models).select(project.models.filter((m) => m.materialized === 'append').map((m) => `${m.name}+`)));
  for (const model of project.models.filter((m) => !history.has(m.name))) {
    const clock = WALL_CLOCK[model.name];
    const row = clock ? db.knex.raw('(to_jsonb(t) - ?::text[])::text', [clock]).toQuery() : 't::text';
    const { rows } = await db.knex.raw(`select coalesce(array_agg(r order by r), '{}') as rows from (select ${row} as r from ?? t) x`, [model.name]);
    out[model.name] = rows[0].rows;
  }
  return out;
}

beforeAll(async () => {
  project = await loadTestProject();
  [reverted, clean] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  const manifest = await writeDemoFiles({ users: 300, seed: 5, outDir: mkdtempSync(join(tmpdir(), 'seglayer-demo-')) });
  for (const db of [reverted, clean]) for (const file of manifest.files) await loadFile(db.url, file.path, { into: file.into });
  wrongEvents = (await loadFile(reverted.url, wrongEventsFile(), { into: 'events' })).batchId;
  wrongOutcomes = (await loadFile(reverted.url, wrongOutcomesFile(), { into: 'outcomes' })).batchId;
  const first = await runModels(reverted.knex, reverted.url, project.models);
  expect(first.ok, first.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`).join('\n')).toBe(true);
});
afterAll(async () => {
  await reverted?.drop();
  await clean?.drop();
});

describe('batches revert', () => {
  it('the wrong batches reached the models before the revert', async () => {
    const { rows } = await reverted.knex.raw(`select count(*)::int as n from ?? where message_id like 'rv-%'`, ['core.fct_events']).catch(() => ({ rows: [{ n: -1 }] }));
    expect(rows[0].n).toBeGreaterThan(0);
  });

  it('removes the rows in one transaction, records why and what, and refuses a second revert', async () => {
    const report = await revertBatch(reverted.knex, wrongEvents, 'events from a staging app');
    expect(report.rows).toEqual({ 'raw.events': 41 });
    expect(report.window['raw.events']).toMatchObject({ occurred_at: '2025-02-10T12:00:00.000Z' });
    await revertBatch(reverted.knex, wrongOutcomes, 'test purchases');
    const batch = await reverted.knex('ops.load_batches').where({ batch_id: wrongEvents }).first('status', 'revert_reason', 'rows_reverted');
    expect(batch).toEqual({ status: 'reverted', revert_reason: 'events from a staging app', rows_reverted: { 'raw.events': 41 } });
    expect(await reverted.knex('raw.events').where({ load_batch_id: wrongEvents }).count('* as n').first()).toEqual({ n: 0 });
    await expect(revertBatch(reverted.knex, wrongEvents, 'again')).rejects.toThrow(`batch ${wrongEvents} is reverted: only a loaded batch can be reverted`);
    await expect(revertBatch(reverted.knex, 99999, 'x')).rejects.toThrow('no batch 99999');
    await expect(revertBatch(reverted.knex, wrongOutcomes, ' ')).rejects.toThrow(/needs a reason/);
  });

  it('the next build equals a build that never saw the batches, table by table (incremental models included)', async () => {
    const [after, without] = await Promise.all([
      runModels(reverted.knex, reverted.url, project.models),
      runModels(clean.knex, clean.url, project.models),
    ]);
    expect(after.ok && without.ok).toBe(true);
    const incremental = project.models.filter((m) => m.materialized === 'incremental').map((m) => m.name);
    expect(incremental.length).toBeGreaterThan(0);
    expect(after.results.filter((r) => incremental.includes(r.model)).map((r) => r.action)).not.toContain('full');
    const [a, b] = await Promise.all([snapshot(reverted), snapshot(clean)]);
    expect(Object.keys(b)).toEqual(expect.arrayContaining(['staging.stg_events', 'core.fct_events', 'core.fct_outcomes', 'core.dim_users']));
    for (const name of Object.keys(b)) expect(a[name]!.length, name).toBe(b[name]!.length);
    for (const name of Object.keys(b)) expect(a[name], name).toEqual(b[name]);
    // And the reverted batches are no longer counted as taken in by any model.
    expect(await reverted.knex('ops.model_batches').whereIn('batch_id', [wrongEvents, wrongOutcomes]).count('* as n').first()).toEqual({ n: 0 });
  });
});
