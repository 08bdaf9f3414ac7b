/**
 * The users whose only change in a run is new events after all their stored ones
 * (src/identity/appended-users.ts), read from the kept changes of core.fct_events and the
 * identity map after real builds: a returning user's new event is appended; a late event,
 * a first event, another source naming the user, an identity link, a re-keyed event and a
 * new copy of a stored event are not.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { appendedUsers } from '../../src/identity/appended-users.ts';
import { batchArray } from '../../src/identity/touched-identities.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { changesRelation } from '../../src/models/model-changes.ts';
import { compilerKnex, quoteRelation } from '../../src/models/model-compiler.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { readsAppendedUsers, RunTouchedUsers } from '../../src/models/run-touched-users.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const events = (name: string, rows: [id: string, user: string, anonymous: string, at: string, page?: string][]) =>
  loadFile(db.url, fixture(name, csv('message_id,user_id,anonymous_id,event,occurred_at,properties', ...rows.map(([id, user, anon, at, page]) => `${id},${user},${anon},page_view,${at},"{""page"":""${page ?? '/'}""}"`))), { into: 'events' });
const build = async () => {
  const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['+core.fct_events'] });
  expect(summary.ok, JSON.stringify(summary.results.filter((r) => r.status !== 'success'))).toBe(true);
};
/** appendedUsers over the changes the last build kept, for that build's batches. */
const appended = async (batches: number[]) => {
  const ref = (name: string) => db.knex.raw(quoteRelation(name));
  const sql = appendedUsers(ref, { events: db.knex.raw(changesRelation('core.fct_events')), identities: db.knex.raw(changesRelation('core.user_identity_map')) }, batchArray(db.knex, batches));
  const { rows } = await db.knex.raw(`select user_key, first_new_at::text as first, last_old_at::text as last, new_events::int as n from (${sql}) a order by 1`);
  return rows;
};
const day = (d: number, h = 10) => `2025-03-${String(d).padStart(2, '0')}T${String(h).padStart(2, '0')}:00:00Z`;

it('returning users with new events after their stored ones, and no one else', async () => {
  await events('appended-1.csv', [
    ['m1', 'u1', '', day(1)], ['m2', 'u1', '', day(2)],
    ['m3', 'u2', '', day(1)], ['m4', 'u2', '', day(5)],
    ['m5', 'u3', '', day(1)],
    ['m6', 'u5', '', day(1)],
    ['m7', '', 'a9', day(2)],
    ['m8', 'u6', '', day(2)],
    ['m9', 'u7', '', day(2), '/before'],
  ]);
  await build();

  const second = await events('appended-2.csv', [
    ['n1', 'u1', '', day(6)], ['n2', 'u1', '', day(6, 11)],   // appended: after everything stored
    ['n3', 'u2', '', day(3)],                                  // late: before u2's stored 5th
    ['n4', 'u4', '', day(6)],                                  // a first event: nothing stored
    ['n5', 'u3', '', day(6)],                                  // appended, but an outcome names u3 too
    ['n6', 'u5', 'a9', day(6)],                                // a9's event moves to u5 with it
    ['n7', 'u6', '', day(2)],                                  // a tie with the stored event
    ['m9', 'u7', '', day(2), '/after'],                        // a new copy of a stored event
  ]);
  const outcome = await loadFile(db.url, fixture('appended-outcomes.csv', csv('outcome_id,user_id,occurred_at,amount', `o1,u3,${day(6)},10`)), { into: 'outcomes' });
  await build();

  expect(await appended([second.batchId, outcome.batchId])).toEqual([
    { user_key: 'u1', first: '2025-03-06 10:00:00+00', last: '2025-03-02 10:00:00+00', n: 2 },
  ]);
  // Without the outcome's batch among the run's, u3 is appended too: the exclusion is that batch's doing.
  expect((await appended([second.batchId])).map((r: { user_key: string }) => r.user_key)).toEqual(['u1', 'u3']);
  // What the others are: the changes hold a removed row for u7's copy and for a9's moved event.
  const removed = (await db.knex.raw(`select message_id, user_key from ${changesRelation('core.fct_events')} where change = 'removed' order by 1`)).rows;
  expect(removed).toEqual([{ message_id: 'm7', user_key: 'anon:a9' }, { message_id: 'm9', user_key: 'u7' }]);
});

it('an identity link names both sides: the user it links is not appended, though their new event is', async () => {
  const third = await events('appended-3.csv', [['p1', 'u1', '', day(8)], ['p2', 'u2', '', day(8)]]);
  const link = await loadFile(db.url, fixture('appended-links.csv', csv('anonymous_id,user_id,linked_at,link_source', `a7,u2,${day(8)},alias`)), { into: 'identities' });
  await build();
  expect((await appended([third.batchId, link.batchId])).map((r: { user_key: string }) => r.user_key)).toEqual(['u1']);
});

it('the runner computes them once per run, for the models that read them, as the query does', async () => {
  const { models } = await loadTestProject();
  const model = (name: string) => models.find((m) => m.name === name)!;
  const known = new Set(models.map((m) => m.name));
  const incremental = { this: compilerKnex.raw('"t"."t"'), newBatches: [1] };
  const delta = { this: compilerKnex.raw('"t"."t"'), changes: { 'core.fct_events': compilerKnex.raw('"c"."e"'), 'core.user_identity_map': compilerKnex.raw('"c"."m"') } };
  expect(readsAppendedUsers(model('core.dim_users'), known, incremental, delta)).toBe(true);
  expect(readsAppendedUsers(model('features.user_facts'), known, incremental, delta)).toBe(true);
  expect(readsAppendedUsers(model('core.fct_events'), known, incremental, delta)).toBe(false);

  // dim_users and user_facts built once: the next run can update them from fct_events' changes.
  expect((await runModels(db.knex, db.url, models, { select: ['+features.user_facts'] })).ok).toBe(true);
  const fourth = await events('appended-4.csv', [['q1', 'u1', '', day(9)], ['q2', 'u5', '', day(9)]]);
  const tables = async () =>
    (await db.knex.raw(`select relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'ops' and relname like '\\_\\_seglayer\\_tmp\\_appended%'`)).rows.length;
  // While the run goes on (fct_outcomes and user_facts follow dim_users), the table dim_users asked for exists.
  let during: Promise<number> | undefined;
  const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, {
    select: ['+features.user_facts'],
    onEvent: (e) => { if (e.kind === 'done' && e.result.model === 'core.dim_users') during = tables(); },
  });
  expect(summary.ok).toBe(true);
  expect(await during).toBe(1);
  expect(await tables()).toBe(0); // gone with the run
  // The table holds what the query returns.
  const run = new RunTouchedUsers(db.knex, 'appended-test');
  const table = await run.appendedOf([fourth.batchId]);
  const rows = (await db.knex.raw(`select user_key, first_new_at::text as first, last_old_at::text as last, new_events::int as n from ${table} order by 1`)).rows;
  expect(rows).toEqual(await appended([fourth.batchId]));
  expect(rows.map((r: { user_key: string }) => r.user_key)).toEqual(['u1', 'u5']);
  await run.drop();
});
