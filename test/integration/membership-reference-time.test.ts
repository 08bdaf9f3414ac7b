/**
 * Membership history carries the build's reference time. The same two loads, each
 * followed by a build, run in two databases under faked clocks years apart (PostgreSQL's
 * now() shadowed by a function ahead of pg_catalog, as in reference-time.test.ts): the
 * histories are identical except for the wall-clock column changed_at, and reference_at
 * is midnight after each load's last event. `segments members --as-of` and `segments
 * export --as-of` between the two reference times answer the first build's membership,
 * checked against the rule computed here from the fixture events. A history table from
 * before the column gets it filled by its migration.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKnex } from '../../src/database/knex-client.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels } from '../../src/models/model-runner.ts';
import { up as addReferenceAt } from '../../migrations/20261201000100_add_membership_history_reference_at.ts';
import { spawnCli } from '../support/cli-process.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject, ownSegmentsEnv } from '../support/test-project.ts';

const DAY = 86_400_000;
const USERS = 12;
const day = (d: number, h = 0) => new Date(Date.UTC(2025, 0, 1 + d, h));
/** Event days per user: user u uses a feature every (1 + u % 4) days until day 12 + u, and again from day 22 when u is even. */
function eventsOf(u: number, fromDay: number, toDay: number): Date[] {
  const out: Date[] = [];
  for (let d = 0; d <= 30; d += 1 + (u % 4)) if (d >= fromDay && d <= toDay && (d <= 12 + u || (u % 2 === 0 && d >= 22))) out.push(day(d, 10 + (u % 5)));
  return out;
}
const FIRST = { from: 0, to: 20 };
const SECOND = { from: 21, to: 30 };
const segmentsDir = mkdtempSync(join(tmpdir(), 'seglayer-ref-history-'));
mkdirSync(join(segmentsDir, 'segments'));
writeFileSync(
  join(segmentsDir, 'segments', 'recent.yml'),
  `segments:\n  - {name: recent, title: Recent, description: d, owner: o, hypothesis: h, version: 1, kind: rule, rule: "performed('feature_used') >= 2 in last 7 days"}\n`,
);
const ENV = ownSegmentsEnv(join(segmentsDir, 'segments'));

let seq = 0;
const eventsFile = (window: { from: number; to: number }) =>
  fixture(
    `ref-history-${++seq}.csv`,
    csv('message_id,user_id,event,occurred_at,properties', ...Array.from({ length: USERS }, (_, u) => eventsOf(u, window.from, window.to).map((at, i) => `e${u}-${window.from}-${i},u${u},feature_used,${at.toISOString()},{}`)).flat()),
  );
/** Midnight UTC after the latest event up to `toDay`: the reference time core.reference_time derives. */
const referenceAfter = (toDay: number) => {
  const last = Math.max(...Array.from({ length: USERS }, (_, u) => eventsOf(u, 0, toDay).map((d) => d.getTime())).flat());
  return new Date(Math.floor(last / DAY) * DAY + DAY);
};
/** The rule, computed here: two or more feature_used events in [reference − 7 days, reference). */
const recentAt = (reference: Date) =>
  Array.from({ length: USERS }, (_, u) => u)
    .filter((u) => eventsOf(u, 0, 30).filter((d) => d.getTime() >= reference.getTime() - 7 * DAY && d < reference).length >= 2)
    .map((u) => `u${u}`)
    .sort();

interface Fake {
  db: TestDatabase;
  build: Knex;
}
async function fakeClockDatabase(): Promise<Fake> {
  const db = await createTestDatabase();
  await db.knex.raw(`create schema fakeclock`);
  await db.knex.raw(`create table fakeclock.clock (at timestamptz not null)`);
  await db.knex.raw(`insert into fakeclock.clock values (now())`);
  await db.knex.raw(`create function fakeclock.now() returns timestamptz language sql stable as 'select at from fakeclock.clock'`);
  await db.knex.raw(`alter database ${db.name} set search_path = fakeclock, pg_catalog, "$user", public`);
  await loadFile(db.url, fixture(`ref-users-${++seq}.csv`, csv('user_id,signed_up_at,plan,updated_at', ...Array.from({ length: USERS }, (_, u) => `u${u},${day(0).toISOString()},free,${day(0).toISOString()}`))), { into: 'users' });
  return { db, build: createKnex(db.url) };
}
async function loadAndBuildOn(fake: Fake, window: { from: number; to: number }, clock: string): Promise<void> {
  await loadFile(fake.db.url, eventsFile(window), { into: 'events' });
  await fake.build.raw(`update fakeclock.clock set at = ?::timestamptz`, [clock]);
  const summary = await runModels(fake.build, fake.db.url, (await loadTestProject(ENV)).models);
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
}
const history = async (fake: Fake) =>
  (
    await fake.build.raw(`select user_key, definition, segment, version, change, reference_at from segments.membership_history
                          order by reference_at, definition, segment, user_key, change`)
  ).rows as { user_key: string; definition: string; change: string; reference_at: Date }[];

let a: Fake;
let b: Fake;
beforeAll(async () => {
  [a, b] = await Promise.all([fakeClockDatabase(), fakeClockDatabase()]);
  await loadAndBuildOn(a, FIRST, '2030-01-15T09:00:00Z');
  await loadAndBuildOn(a, SECOND, '2030-06-01T18:30:00Z');
  await loadAndBuildOn(b, FIRST, '2033-03-03T03:03:00Z');
  await loadAndBuildOn(b, SECOND, '2033-03-03T04:00:00Z');
}, 600_000);
afterAll(async () => {
  await a?.build.destroy();
  await b?.build.destroy();
  await a?.db.drop();
  await b?.db.drop();
});

describe('membership history in reference time', () => {
  it('two builds of the same loads on other days record the same history, apart from changed_at', async () => {
    const first = await history(a);
    expect(await history(b)).toEqual(first);
    // changed_at is the (faked) wall clock: different in the two databases.
    const clocks = (await a.build.raw(`select distinct changed_at from segments.membership_history order by 1`)).rows.map((r: { changed_at: Date }) => r.changed_at.toISOString());
    expect(clocks).toEqual(['2030-01-15T09:00:00.000Z', '2030-06-01T18:30:00.000Z']);
    // reference_at is the data's: midnight after each load's last event.
    const [ref1, ref2] = [referenceAfter(FIRST.to), referenceAfter(SECOND.to)];
    expect([...new Set(first.map((h) => h.reference_at.toISOString()))]).toEqual([ref1.toISOString(), ref2.toISOString()]);
    // And the history replays the rule computed here at each reference time.
    const at1 = recentAt(ref1);
    const at2 = recentAt(ref2);
    const recent = first.filter((h) => h.definition === 'recent');
    expect(recent.filter((h) => h.reference_at.getTime() === ref1.getTime()).map((h) => `${h.change} ${h.user_key}`).sort()).toEqual(at1.map((u) => `entered ${u}`).sort());
    const changes2 = recent.filter((h) => h.reference_at.getTime() === ref2.getTime()).map((h) => `${h.change} ${h.user_key}`).sort();
    expect(changes2).toEqual([...at2.filter((u) => !at1.includes(u)).map((u) => `entered ${u}`), ...at1.filter((u) => !at2.includes(u)).map((u) => `left ${u}`)].sort());
    expect(changes2.length).toBeGreaterThan(0); // the second build moved membership both ways or at least one
  });

  it('members --as-of a day between the two reference times answers the first build, whatever the wall clock', async () => {
    const [ref1, ref2] = [referenceAfter(FIRST.to), referenceAfter(SECOND.to)];
    const between = new Date(ref1.getTime() + DAY).toISOString().slice(0, 10);
    expect(new Date(`${between}T23:59:59Z`) < ref2).toBe(true);
    const env = { ...ENV, DATABASE_URL: a.db.url };
    const exported = await spawnCli(['segments', 'export', 'recent', '--format', 'ndjson', '--as-of', between], env).done;
    expect(exported.code, exported.output).toBe(0);
    const rows = exported.output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { user_key: string; since: string });
    expect(rows.map((r) => r.user_key).sort()).toEqual(recentAt(ref1));
    expect(new Set(rows.map((r) => r.since))).toEqual(new Set([ref1.toISOString().replace('.000Z', '.000000Z')]));
    const members = await spawnCli(['segments', 'members', 'recent', '--as-of', between, '--limit', '100'], env).done;
    expect(members.code, members.output).toBe(0);
    expect(members.output).toMatch(new RegExp(`recent\\s+│?\\s*${recentAt(ref1).length}\\b`));
    // Before the first reference time: nobody; after the second: the second build's members.
    const before = await spawnCli(['segments', 'export', 'recent', '--format', 'ndjson', '--as-of', new Date(ref1.getTime() - DAY).toISOString()], env).done;
    expect(before.output.split('\n').filter((l) => l.startsWith('{'))).toEqual([]);
    const after = await spawnCli(['segments', 'export', 'recent', '--format', 'ndjson', '--as-of', ref2.toISOString()], env).done;
    expect(after.output.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { user_key: string }).user_key).sort()).toEqual(recentAt(ref2));
  });

  it('the migration fills reference_at of a history table from before the column', async () => {
    const db = await createTestDatabase();
    try {
      await db.knex.raw(`create schema if not exists segments; create schema if not exists core`);
      await db.knex.raw(`create table segments.membership_history (user_key text, definition text, segment text, version int, change text, changed_at timestamptz)`);
      await db.knex.raw(`create table core.reference_time (as_of_at timestamptz, last_activity_at timestamptz, is_configured boolean)`);
      await db.knex.raw(`insert into core.reference_time values ('2025-03-01Z', '2025-02-28T10:00Z', false)`);
      await db.knex('segments.membership_history').insert([
        { user_key: 'x', definition: 'd', segment: 'd', version: 1, change: 'entered', changed_at: '2025-01-10T08:00Z' }, // a live build: wall clock before today's reference time
        { user_key: 'x', definition: 'd', segment: 'd', version: 1, change: 'left', changed_at: '2026-11-30T08:00Z' }, // a backfill build: wall clock after the data
      ]);
      await addReferenceAt(db.knex);
      await addReferenceAt(db.knex); // idempotent
      const rows = (await db.knex.raw(`select change, reference_at from segments.membership_history order by changed_at`)).rows;
      expect(rows).toEqual([
        { change: 'entered', reference_at: new Date('2025-01-10T08:00Z') },
        { change: 'left', reference_at: new Date('2025-03-01Z') },
      ]);
      const { rows: nullable } = await db.knex.raw(`select is_nullable from information_schema.columns where table_schema = 'segments' and table_name = 'membership_history' and column_name = 'reference_at'`);
      expect(nullable).toEqual([{ is_nullable: 'NO' }]);
    } finally {
      await db.drop();
    }
  });
});
