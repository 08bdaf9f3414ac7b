/**
 * `refresh: incremental` segments: an incremental build recomputes the users new batches
 * touch and reuses the rest, and its membership equals a --full-refresh rebuild — after
 * late events (the reference time stays: the reuse path), after new recent events (the
 * reference time moves: every user recomputed), and after identity merges (an identity
 * batch: every user recomputed). That the reuse path really reuses is shown by planting
 * a wrong row for a user no batch touches: the incremental build keeps it, a full
 * rebuild removes it.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import type { Project } from '../../src/project/project.ts';
import { spawnCli } from '../support/cli-process.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { day, FEATURES, fortyDaysOfEvents, RULES, userLines, writeBehaviouralSegments } from '../support/behavioural-rules-fixture.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject, ownSegmentsEnv } from '../support/test-project.ts';


let db: TestDatabase;
let project: Project;
let cliEnv: Record<string, string>;
let seq = 0;
let seed = 7;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const event = (who: { user?: string; anon?: string }, name: string, at: string, feature?: string) =>
  `r${++seq},${who.user ?? ''},${who.anon ?? ''},${name},${at},${feature ? `"{""feature"":""${feature}""}"` : '{}'}`;
const loadEvents = (rows: string[]) => loadFile(db.url, fixture(`refresh-events-${++seq}.csv`, csv('message_id,user_id,anonymous_id,event,occurred_at,properties', ...rows)), { into: 'events' });

const build = async (options: RunOptions = {}) => {
  const summary = await runModels(db.knex, db.url, project.models, options);
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
};
const membership = async () =>
  ((await db.knex.raw(`select definition || '|' || user_key as k from segments.current_membership where definition = any(?) order by 1`, [Object.keys(RULES)])).rows as { k: string }[]).map((r) => r.k);
const referenceTime = async () => ((await db.knex.raw(`select as_of_at from core.reference_time`)).rows[0].as_of_at as Date).toISOString();
/** Incremental build, then a full rebuild: both memberships. */
const incrementalThenFull = async () => {
  await build();
  const incremental = await membership();
  await build({ fullRefresh: true });
  return { incremental, full: await membership() };
};

beforeAll(async () => {
  db = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'seglayer-refresh-'));
  writeBehaviouralSegments(dir, 'incremental');
  project = await loadTestProject({ SEGLAYER_SEGMENTS_DIR: join(dir, 'segments') });
  cliEnv = { DATABASE_URL: db.url, ...ownSegmentsEnv(join(dir, 'segments')) };
  await loadFile(db.url, fixture('refresh-users.csv', csv('user_id,signed_up_at,plan,updated_at', ...userLines())), { into: 'users' });
  const rows = fortyDaysOfEvents(random, event);
  rows.push(event({ user: 'u23' }, 'signed_in', day(40, 23))); // the last activity: the reference time is day 41, 00:00
  await loadEvents(rows);
  await build({ fullRefresh: true });
});
afterAll(() => db?.drop());

it('segments ls, show and preview show the refresh policy', async () => {
  const ls = await spawnCli(['segments', 'ls'], cliEnv).done;
  expect(ls.code, ls.output).toBe(0);
  expect(ls.output).toMatch(/refresh/);
  for (const name of Object.keys(RULES)) expect(ls.output).toMatch(new RegExp(`${name}\\b.*\\bincremental\\b`));
  const show = await spawnCli(['segments', 'show', 'recent'], cliEnv).done;
  expect(show.output).toMatch(/refresh\s+incremental/);
  const preview = await spawnCli(['segments', 'preview', 'recent'], cliEnv).done;
  expect(preview.code, preview.output).toBe(0);
  expect(preview.output).toContain('refresh: incremental');
});

it('late events (the reference time stays): the incremental build equals a full rebuild, and moves memberships', async () => {
  const first = await membership();
  const reference = await referenceTime();
  // First-week breadth for users 4 and 5, and recent use for 8 and 9, all before the last activity; and a
  // row for u11 re-using the message id of one of u10's recent events (de-duplication decides whose it is).
  const { rows: [taken] } = await db.knex.raw(`select message_id from raw.events where user_id = 'u10' and event = 'feature_used' order by occurred_at desc limit 1`);
  await loadEvents([
    `${taken.message_id},u11,,feature_used,${day(39, 1)},"{""feature"":""api""}"`,
    ...[4, 5].flatMap((u) => FEATURES.map((f) => event({ user: `u${u}` }, 'feature_used', day(2, 20), f))),
    ...[8, 9].flatMap((u) => [event({ user: `u${u}` }, 'feature_used', day(38, 9), 'api'), event({ user: `u${u}` }, 'feature_used', day(39, 9), 'api')]),
  ]);
  const { incremental, full } = await incrementalThenFull();
  expect(await referenceTime()).toBe(reference);
  expect(incremental).toEqual(full);
  for (const u of [4, 5]) expect(full).toContain(`breadth|u${u}`);
  for (const u of [8, 9]) expect(full).toContain(`recent|u${u}`);
  expect(full.filter((k) => !first.includes(k)).length).toBeGreaterThan(0);
});

it('new recent events (the reference time moves): the incremental build equals a full rebuild', async () => {
  const reference = await referenceTime();
  await loadEvents([1, 2, 3, 7].flatMap((u) => [event({ user: `u${u}` }, 'signed_in', day(44, 9)), event({ user: `u${u}` }, 'feature_used', day(44, 9), 'reports'), event({ user: `u${u}` }, 'feature_used', day(45, 9), 'alerts')]));
  const before = await membership();
  const { incremental, full } = await incrementalThenFull();
  expect(await referenceTime()).not.toBe(reference);
  expect(incremental).toEqual(full);
  // The window slid over users without new events too: some left `recent` or entered `lapsed`.
  const untouched = (k: string) => ![1, 2, 3, 7].some((u) => k.endsWith(`|u${u}`));
  expect([...before.filter((k) => !full.includes(k)), ...full.filter((k) => !before.includes(k))].filter(untouched).length).toBeGreaterThan(0);
});

it('reuses the rows of users no batch touched: a planted row survives the incremental build, not the full one', async () => {
  const truth = await membership();
  const planted = truth.includes('recent|u20') ? undefined : 'recent|u20';
  if (planted) await db.knex.raw(`insert into segments.current_membership select 'u20', 'recent', 'recent', 1, reference_at from segments.current_membership limit 1`);
  else await db.knex.raw(`delete from segments.current_membership where definition = 'recent' and user_key = 'u20'`);
  // A late batch for user 1 only (before the last activity: the reference time stays).
  await loadEvents([event({ user: 'u1' }, 'feature_used', day(43, 8), 'api')]);
  await build();
  const incremental = await membership();
  expect(incremental.includes('recent|u20')).toBe(planted !== undefined); // u20 reused as it stood
  await build({ fullRefresh: true });
  const full = await membership();
  expect(full.includes('recent|u20')).toBe(planted === undefined); // recomputed: the truth again
  // Everyone else, u1 (recomputed) included, agrees.
  const withoutU20 = (ks: string[]) => ks.filter((k) => k !== 'recent|u20');
  expect(withoutU20(incremental)).toEqual(withoutU20(full));
});

it('a definition changed to a new version is recomputed in full, not reused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'seglayer-refresh-v2-'));
  mkdirSync(join(dir, 'segments'));
  writeFileSync(join(dir, 'segments', 'behavioural.yml'), `segments:\n${Object.entries(RULES).map(([name, rule]) =>
    `  - {name: ${name}, title: ${name}, description: d, owner: o, hypothesis: h, version: ${name === 'recent' ? 2 : 1}, kind: rule, refresh: incremental, rule: ${JSON.stringify(name === 'recent' ? "performed('feature_used') >= 1 in last 7 days" : rule)}}\n`).join('')}`);
  project = await loadTestProject({ SEGLAYER_SEGMENTS_DIR: join(dir, 'segments') });
  await loadEvents([event({ user: 'u2' }, 'feature_used', day(43, 9), 'api')]);
  const { incremental, full } = await incrementalThenFull();
  expect(incremental).toEqual(full);
  const { rows } = await db.knex.raw(`select distinct version from segments.current_membership where definition = 'recent'`);
  expect(rows).toEqual([{ version: 2 }]);
});

// An identity batch makes incremental segments recompute every user (src/segments/incremental-membership.ts);
// the incremental core.fct_events re-keys the stored events a merge re-points, so the build reaches them.
it('identity merges: the incremental build equals a full rebuild', async () => {
  await loadEvents([3, 9].flatMap((u) => FEATURES.map((f) => event({ anon: `a${u}` }, 'feature_used', day(1, 5), f))));
  await build({ fullRefresh: true });
  await loadFile(db.url, fixture('refresh-identities.csv', csv('anonymous_id,user_id,linked_at,link_source', 'a3,u3,2025-02-14T00:00:00Z,alias', 'a9,u9,2025-02-14T00:00:00Z,alias', 'a0,u0,2025-02-14T00:00:00Z,alias')), { into: 'identities' });
  await loadEvents([event({ user: 'u3' }, 'signed_in', day(42, 10))]);
  const { incremental, full } = await incrementalThenFull();
  expect(incremental).toEqual(full);
  for (const u of [0, 3, 9]) expect(full).toContain(`breadth|u${u}`);
});
