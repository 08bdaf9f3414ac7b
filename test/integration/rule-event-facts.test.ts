/**
 * segments.rule_event_facts: the per-user counts of event predicates that read no reference
 * time (no window, or one after signup). The rule reads them instead of the events — shown by
 * a planted fact for a user no batch touches, which an incremental build keeps and the rule
 * obeys, and a full rebuild removes — and falls back to the events when a configured
 * reference time lies before the last activity (the facts leave out `occurred_at < as_of_at`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels, type RunOptions } from '../../src/models/model-runner.ts';
import type { Project } from '../../src/project/project.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { day, writeBehaviouralSegments } from '../support/behavioural-rules-fixture.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
let segmentsDir: string;
let seq = 0;
const event = (user: string, name: string, at: string, feature?: string) =>
  `f${++seq},${user},,${name},${at},${feature ? `"{""feature"":""${feature}""}"` : '{}'}`;
const loadEvents = (rows: string[]) => loadFile(db.url, fixture(`facts-events-${++seq}.csv`, csv('message_id,user_id,anonymous_id,event,occurred_at,properties', ...rows)), { into: 'events' });

const build = async (project: Project, options: RunOptions = {}) => {
  const summary = await runModels(db.knex, db.url, project.models, options);
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  return summary;
};
const rows = async (sql: string) => ((await db.knex.raw(sql)).rows as { k: string }[]).map((r) => r.k);
const breadth = () => rows(`select user_key as k from segments.current_membership where definition = 'breadth' order by 1`);
const facts = () => rows(`select definition || '|' || user_key || '|' || value as k from segments.rule_event_facts where definition = 'breadth' order by 1`);

beforeAll(async () => {
  db = await createTestDatabase();
  segmentsDir = writeBehaviouralSegments(mkdtempSync(join(tmpdir(), 'seglayer-rule-facts-')));
  await loadFile(db.url, fixture('facts-users.csv', csv('user_id,signed_up_at,plan,updated_at', ...['u0', 'u1', 'u2', 'u3'].map((u) => `${u},${day(0)},free,${day(0)}`))), { into: 'users' });
  await loadEvents([
    ...['dashboards', 'reports', 'alerts'].map((f) => event('u0', 'feature_used', day(1, 10), f)),
    event('u1', 'feature_used', day(1, 10), 'dashboards'), event('u1', 'feature_used', day(1, 11), 'reports'), event('u1', 'feature_used', day(5, 10), 'alerts'),
    event('u2', 'signed_in', day(1, 9)),
    event('u3', 'feature_used', day(1, 10), 'api'),
    event('u3', 'feature_used', day(9, 10), 'reports'), // after the first week: not counted
  ]);
  await build(await loadTestProject({ SEGLAYER_SEGMENTS_DIR: segmentsDir }), { fullRefresh: true });
});
afterAll(() => db?.drop());

it('a rule reads the kept facts, and an incremental build recomputes only the touched users', async () => {
  const project = await loadTestProject({ SEGLAYER_SEGMENTS_DIR: segmentsDir });
  expect(await facts()).toEqual(['breadth|u0|3', 'breadth|u1|3', 'breadth|u3|1']);
  expect(await breadth()).toEqual(['u0', 'u1']);
  // A wrong fact for u2, whom no batch below touches: kept by the incremental build and read by the rule.
  await db.knex.raw(`insert into segments.rule_event_facts select definition, 'u2', fact, 7, definition_hash from segments.rule_event_facts where definition = 'breadth' and user_key = 'u0'`);
  await loadEvents(['dashboards', 'reports'].map((f) => event('u3', 'feature_used', day(2, 10), f))); // late first-week use: u3 reaches 3
  const summary = await build(project);
  expect(summary.results.find((r) => r.model === 'segments.rule_event_facts')?.action).toMatch(/^incremental: 1 rows by user_key/);
  expect(await facts()).toEqual(['breadth|u0|3', 'breadth|u1|3', 'breadth|u2|7', 'breadth|u3|3']);
  expect(await breadth()).toEqual(['u0', 'u1', 'u2', 'u3']);
  await build(project, { fullRefresh: true });
  expect(await facts()).toEqual(['breadth|u0|3', 'breadth|u1|3', 'breadth|u3|3']);
  expect(await breadth()).toEqual(['u0', 'u1', 'u3']);
});

it('a reference time before the last activity reads the events up to it instead', async () => {
  // Day 3: u1's third feature (day 5) is after it, u3's late ones (day 2) before.
  await build(await loadTestProject({ SEGLAYER_SEGMENTS_DIR: segmentsDir, SEGLAYER_REFERENCE_TIME: day(3) }));
  expect((await db.knex.raw(`select as_of_at from core.reference_time`)).rows[0].as_of_at.toISOString()).toBe(day(3));
  expect(await facts()).toEqual(['breadth|u0|3', 'breadth|u1|3', 'breadth|u3|3']); // the facts hold every event
  expect(await breadth()).toEqual(['u0', 'u3']);
});
