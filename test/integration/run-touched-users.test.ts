/**
 * The touched users computed once per run (src/models/run-touched-users.ts): one analyzed table per
 * set of new batches, holding exactly the users those batches touch, given to the models that read
 * it, and gone after the run (or, after a run that died, dropped by the next build).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { compilerKnex, quoteRelation } from '../../src/models/model-compiler.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import { readsTouchedUsers, RunTouchedUsers } from '../../src/models/run-touched-users.ts';
import { pageViewEvents } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const events = pageViewEvents;
const build = async (options: RunOptions = {}) => {
  const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['+marts.user_days'], ...options });
  expect(summary.ok, JSON.stringify(summary.results.filter((r) => r.status !== 'success'))).toBe(true);
  return summary;
};
const runTables = async () =>
  (await db.knex.raw(`select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'ops' and relname like '\\_\\_seglayer\\_tmp\\_touched%'`)).rows.map((r: { relname: string }) => r.relname);
const lastBatch = async () => Number((await db.knex.raw(`select max(batch_id) as id from ops.load_batches`)).rows[0].id);

it('the models that read the touched users are found by compiling them', async () => {
  const { models } = await loadTestProject();
  const model = (name: string) => models.find((m) => m.name === name)!;
  const incremental = { this: compilerKnex.raw('"t"."t"'), newBatches: [1] };
  const known = new Set(models.map((m) => m.name));
  expect(readsTouchedUsers(model('marts.user_days'), known, incremental)).toBe(true);
  expect(readsTouchedUsers(model('features.user_facts'), known, incremental)).toBe(true);
  expect(readsTouchedUsers(model('core.fct_events'), known, incremental)).toBe(false);
});

it('one table per set of new batches, holding the users they touch, dropped with the run', async () => {
  await loadFile(db.url, events('a.csv', [['a1', 'u1', '2025-01-10T10:00:00Z'], ['a2', 'u2', '2025-01-10T11:00:00Z']]), { into: 'events' });
  await build();
  await loadFile(db.url, events('b.csv', [['b1', 'u1', '2025-01-11T10:00:00Z']]), { into: 'events' });
  const second = await lastBatch();
  await build();
  await loadFile(db.url, events('c.csv', [['c1', 'u2', '2025-01-12T10:00:00Z']]), { into: 'events' });
  const third = await lastBatch();
  await build();

  const touched = new RunTouchedUsers(db.knex, 'test-run');
  const [one, again, both] = await Promise.all([touched.of([third]), touched.of([third]), touched.of([third, second])]);
  expect(again).toBe(one);
  expect(both).not.toBe(one);
  const keys = async (table: string) => (await db.knex.raw(`select user_key from ${table} order by 1`)).rows.map((r: { user_key: string }) => r.user_key);
  expect(await keys(one)).toEqual(['u2']);
  expect(await keys(both)).toEqual(['u1', 'u2']);
  // Analyzed: the planner knows its row count.
  expect((await db.knex.raw(`select reltuples::int as n from pg_class where oid = ?::regclass`, [one])).rows[0].n).toBe(1);
  await touched.drop();
  expect(await runTables()).toEqual([]);
});

it('a build leaves no table of touched users, and drops one a dead build left', async () => {
  await db.knex.raw(`create unlogged table ${quoteRelation('ops.__seglayer_tmp_touched_users_dead')} (user_key text)`);
  await loadFile(db.url, events('d.csv', [['d1', 'u1', '2025-01-13T10:00:00Z']]), { into: 'events' });
  const cleaned: string[] = [];
  await build({ onEvent: (event) => event.kind === 'cleanup' && cleaned.push(...event.dropped) });
  expect(cleaned).toContain('ops.__seglayer_tmp_touched_users_dead');
  expect(await runTables()).toEqual([]);
  // The incremental build used the run's table: u1's new day is there, u2's rows as they were.
  const days = (await db.knex.raw(`select user_key, day::text, events::int from marts.user_days order by 1, 2`)).rows;
  expect(days).toEqual([
    { user_key: 'u1', day: '2025-01-10', events: 1 },
    { user_key: 'u1', day: '2025-01-11', events: 1 },
    { user_key: 'u1', day: '2025-01-13', events: 1 },
    { user_key: 'u2', day: '2025-01-10', events: 1 },
    { user_key: 'u2', day: '2025-01-12', events: 1 },
  ]);
});
