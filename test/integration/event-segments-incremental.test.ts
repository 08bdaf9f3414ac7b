/**
 * Event-predicate segments after an incremental build equal a full rebuild: new
 * batches of recent events, late events that land in users' first week, and identity
 * merges (anonymous first-week activity linked to its user afterwards, older than
 * fct_events' incremental window, which it re-keys) all reach the
 * membership the same way a --full-refresh does. The data also moves memberships, so
 * equality is not the trivial one.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import type { Project } from '../../src/project/project.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { day, FEATURES, fortyDaysOfEvents, RULES, userLines, writeBehaviouralSegments } from '../support/behavioural-rules-fixture.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';


let db: TestDatabase;
let project: Project;
let seq = 0;
let seed = 11;
const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const event = (who: { user?: string; anon?: string }, name: string, at: string, feature?: string) =>
  `m${++seq},${who.user ?? ''},${who.anon ?? ''},${name},${at},${feature ? `"{""feature"":""${feature}""}"` : '{}'}`;
const eventsFile = (rows: string[]) => fixture(`inc-events-${++seq}.csv`, csv('message_id,user_id,anonymous_id,event,occurred_at,properties', ...rows));

const build = async (options: RunOptions = {}) => {
  const summary = await runModels(db.knex, db.url, project.models, options);
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
};
const membership = async () =>
  ((await db.knex.raw(`select definition || '|' || user_key as k from segments.current_membership where definition = any(?) order by 1`, [Object.keys(RULES)])).rows as { k: string }[]).map((r) => r.k);

beforeAll(async () => {
  db = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'seglayer-inc-segments-'));
  writeBehaviouralSegments(dir);
  project = await loadTestProject({ SEGLAYER_SEGMENTS_DIR: join(dir, 'segments') });
  await loadFile(db.url, fixture('inc-users.csv', csv('user_id,signed_up_at,plan,updated_at', ...userLines())), { into: 'users' });
  const rows = fortyDaysOfEvents(random, event);
  await loadFile(db.url, eventsFile(rows), { into: 'events' });
  await build({ fullRefresh: true });
});
afterAll(() => db?.drop());

it('an incremental build after new batches and late events equals a full rebuild, and moves memberships', async () => {
  const first = await membership();
  // New batch: recent activity for a few users (days 44–45).
  const fresh = [1, 2, 3, 7].flatMap((u) => [event({ user: `u${u}` }, 'signed_in', day(44, 9)), event({ user: `u${u}` }, 'feature_used', day(44, 9), 'reports'), event({ user: `u${u}` }, 'feature_used', day(45, 9), 'alerts')]);
  // Late events: first-week breadth for users 4 and 5, arriving now.
  const late = [4, 5].flatMap((u) => FEATURES.map((f) => event({ user: `u${u}` }, 'feature_used', day(2, 20), f)));
  await loadFile(db.url, eventsFile([...fresh, ...late]), { into: 'events' });

  await build();
  const incremental = await membership();
  await build({ fullRefresh: true });
  const full = await membership();

  expect(incremental).toEqual(full);
  const entered = full.filter((k) => !first.includes(k));
  for (const u of [4, 5]) expect(first.includes(`breadth|u${u}`) || entered.includes(`breadth|u${u}`), `u${u}`).toBe(true);
  for (const u of [1, 2, 3, 7]) expect(full).toContain(`recent|u${u}`);
  expect(entered.length).toBeGreaterThan(0);
});

it('after identity merges a full rebuild gives the merged users their anonymous first week', async () => {
  // The anonymous first weeks of users 0, 6, 12, 18 are theirs.
  await loadFile(db.url, fixture('inc-identities.csv', csv('anonymous_id,user_id,linked_at,link_source', ...[0, 6, 12, 18].map((u) => `a${u},u${u},${day(44)},alias`))), { into: 'identities' });
  await build({ fullRefresh: true });
  const full = await membership();
  for (const u of [0, 6, 12, 18]) expect(full).toContain(`breadth|u${u}`);
});

// An incremental core.fct_events build re-keys stored events (older than its window,
// under 'anon:a3') whose identity the merge re-points, so the build passes its
// relationships test and the memberships equal a full rebuild's.
it('an incremental build after identity merges equals a full rebuild', async () => {
  // Anonymous first-week activity stored under 'anon:a3' / 'anon:a9' by a full build ...
  await loadFile(db.url, eventsFile([3, 9].flatMap((u) => FEATURES.map((f) => event({ anon: `a${u}` }, 'feature_used', day(1, 5), f)))), { into: 'events' });
  await build({ fullRefresh: true });
  // ... then linked to u3 / u9, with a new batch of recent events, and built incrementally.
  await loadFile(db.url, fixture('inc-identities-3.csv', csv('anonymous_id,user_id,linked_at,link_source', 'a3,u3,2025-02-14T00:00:00Z,alias', 'a9,u9,2025-02-14T00:00:00Z,alias')), { into: 'identities' });
  await loadFile(db.url, eventsFile([event({ user: 'u3' }, 'signed_in', day(45, 10))]), { into: 'events' });
  await build();
  const incremental = await membership();
  await build({ fullRefresh: true });
  expect(incremental).toEqual(await membership());
});
