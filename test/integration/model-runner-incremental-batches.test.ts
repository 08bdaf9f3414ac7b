/**
 * Incremental builds of the real event models against what a full refresh
 * gives: batches that commit out of id order are still taken in, and sessions
 * that cross the rebuilt window's start keep their id.
 */
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import { csv, fixture, pageViewEvents } from '../support/fixture-files.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const events = pageViewEvents;
const build = async (options: RunOptions = {}) => {
  const summary = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['+core.fct_events'], ...options });
  expect(summary.ok, JSON.stringify(summary.results.filter((r) => r.status !== 'success'))).toBe(true);
  // Incremental builds report their rows from the count recorded at publish (ops.model_row_counts), not a scan.
  for (const r of summary.results.filter((r) => r.rows !== null)) {
    expect(r.rows, r.model).toBe((await db.knex.raw('select count(*)::int as n from ??', [r.model])).rows[0].n);
  }
};
const ids = async (table: string, like: string) =>
  (await db.knex.raw(`select message_id from ${table} where message_id like ? order by 1`, [like])).rows.map((r: { message_id: string }) => r.message_id);
const checksum = async (table: string, columns: string) =>
  (await db.knex.raw(`select md5(string_agg(concat_ws('|', ${columns}), E'\\n' order by message_id)) as sum, count(*)::int as n from ${table}`)).rows[0];

it('a batch that commits after a later one is still built incrementally', async () => {
  await loadFile(db.url, events('a.csv', [['a1', 'u1', '2025-01-10T10:00:00Z'], ['a2', 'u1', '2025-01-10T11:00:00Z']]), { into: 'events' });
  await build();

  // The events load takes batch N and waits on the lock; a users load commits N+1 meanwhile.
  const holder = new pg.Client(db.url);
  await holder.connect();
  await holder.query('begin');
  await holder.query('lock table raw.events in share mode');
  const late = loadFile(db.url, events('late.csv', [['late1', 'u1', '2025-01-01T10:00:00Z'], ['late2', 'u1', '2025-01-01T10:05:00Z']]), { into: 'events' });
  for (let i = 0; ; i++) {
    const { rows } = await db.knex.raw(`select count(*)::int as n from pg_stat_activity where application_name = 'seglayer load' and wait_event_type = 'Lock'`);
    if (rows[0].n > 0) break;
    if (i > 200) throw new Error('the events load never waited on the lock');
    await new Promise((r) => setTimeout(r, 25));
  }
  await loadFile(db.url, fixture('users.csv', csv('user_id,plan', 'u1,pro')), { into: 'users' });
  await build();
  await holder.query('commit');
  await holder.end();
  const report = await late;
  expect(report.rowsLoaded).toBe(2);

  await build();
  await build();
  expect(await ids('raw.events', 'late%')).toEqual(['late1', 'late2']);
  expect(await ids('staging.stg_events', 'late%')).toEqual(['late1', 'late2']);
  expect(await ids('core.fct_events', 'late%')).toEqual(['late1', 'late2']);
});

it('a session longer than the lookback keeps its id across incremental builds', async () => {
  // u2: an event every 20 minutes for 5 days, one session; the 3-day lookback starts inside it.
  const rows: [string, string, string][] = [];
  for (let i = 0; i < 5 * 72; i++) rows.push([`s${String(i).padStart(4, '0')}`, 'u2', new Date(Date.UTC(2025, 0, 5) + i * 20 * 60_000).toISOString()]);
  await loadFile(db.url, events('session.csv', rows), { into: 'events' });
  await build({ fullRefresh: true });
  const next = new Date(Date.UTC(2025, 0, 5) + rows.length * 20 * 60_000).toISOString();
  await loadFile(db.url, events('session-next.csv', [['s9999', 'u2', next]]), { into: 'events' });
  await build();
  const incremental = await checksum('core.fct_events', 'message_id, user_key, session_id');
  const sessions = (await db.knex.raw(`select count(distinct session_id)::int as n from core.fct_events where user_key = 'u2'`)).rows[0].n;
  await build({ fullRefresh: true });
  expect(await checksum('core.fct_events', 'message_id, user_key, session_id')).toEqual(incremental);
  expect(sessions).toBe(1);
});

it('an incremental build drops the indexes it made that the model no longer declares, and makes the missing ones', async () => {
  const indexes = async () =>
    (await db.knex.raw(`select indexname from pg_indexes where schemaname = 'core' and tablename = 'fct_events' order by 1`)).rows.map((r: { indexname: string }) => r.indexname);
  const declared = await indexes();
  expect(declared).toContain('fct_events__occurred_at__event__user_key');
  // An index an earlier declaration made (fct_events had (occurred_at) alone), one someone added by hand,
  // and a declared one lost.
  await db.knex.raw('create index fct_events__occurred_at on core.fct_events (occurred_at)');
  await db.knex.raw('create index hand_made_on_fct_events on core.fct_events (event)');
  await db.knex.raw('drop index core.fct_events__message_id');
  await loadFile(db.url, events('index-round.csv', [['ix1', 'u3', '2025-02-01T10:00:00Z']]), { into: 'events' });
  await build();
  expect(await indexes()).toEqual([...declared, 'hand_made_on_fct_events'].sort());
  expect(await ids('core.fct_events', 'ix%')).toEqual(['ix1']); // built incrementally, not replaced (the hand-made index would be gone)
});
