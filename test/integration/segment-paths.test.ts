/**
 * marts.segment_paths on a hand-made event log: three users who upgrade, three
 * who stall; only the mart is built, and every path, count, share and lift
 * below is worked out by hand from EVENTS.
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2025-05-01T00:00:00Z');
/** user → events in order, hours after T0 (the upgrade, if any, is at hour 100). */
const EVENTS: Record<string, [number, string][]> = {
  // path before the upgrade, repeats collapsed: a b c (d comes after the upgrade)
  c1: [[1, 'a'], [2, 'b'], [3, 'b'], [4, 'c'], [101, 'd']],
  // x b c; y happens at the very instant of the upgrade, so it is not before it
  c2: [[1, 'x'], [2, 'b'], [3, 'c'], [100, 'y']],
  // z is 40 days before the upgrade (outside the 30-day window): the path is only b
  c3: [[100 - 40 * 24, 'z'], [99, 'b']],
  // stalled users: their path ends with their last event, included
  s1: [[1, 'a'], [2, 'b'], [3, 'c']],
  s2: [[1, 'b'], [2, 'a']],
  s3: [[1, 'c'], [2, 'c'], [3, 'c']],
};
const UPGRADED = ['c1', 'c2', 'c3'];

let db: TestDatabase;
let build: RunSummary;
let rows: Record<string, string | number | null>[];

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema core; create schema segments;
    create table core.fct_events (user_key text, occurred_at timestamptz, message_id text, event text);
    create table core.fct_outcomes (user_key text, occurred_at timestamptz, outcome_type text);
    create table segments.membership (user_key text, definition text, segment text, version int, since timestamptz)`);
  await db.knex('core.fct_events').insert(Object.entries(EVENTS).flatMap(([u, events]) => events.map(([hour, event], i) => ({
    user_key: u, occurred_at: new Date(T0 + (hour * DAY) / 24), message_id: `${u}-${i}`, event,
  }))));
  await db.knex('core.fct_outcomes').insert(UPGRADED.map((u) => ({ user_key: u, occurred_at: new Date(T0 + (100 * DAY) / 24), outcome_type: 'upgrade' })));
  await db.knex('segments.membership').insert(['c1', 's1'].map((u) => ({ user_key: u, definition: 'd', segment: 'p', version: 1, since: new Date(T0) })));
  build = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['marts.user_paths', 'marts.segment_path_counts', 'marts.segment_paths'] });
  rows = (await db.knex.raw(`select * from marts.segment_paths where outcome = 'upgrade' order by definition, segment, path_length, path`)).rows;
});
afterAll(() => db.drop());

const find = (segment: string, path: string) => rows.find((r) => r.segment === segment && r.path === path);
const counts = (segment: string, length: number) =>
  Object.fromEntries(rows.filter((r) => r.segment === segment && r.path_length === length).map((r) => [r.path, [Number(r.converted_users), Number(r.stalled_users)]]));

describe('marts.segment_paths on a hand-made event log', () => {
  it('builds with its tests passing', () => {
    expect(build.results.map((r) => [r.model, r.status, r.error])).toEqual([['marts.user_paths', 'success', undefined], ['marts.segment_path_counts', 'success', undefined], ['marts.segment_paths', 'success', undefined]]);
  });

  it('finds the last k consecutive distinct events before the upgrade, and before the end for stalled users', () => {
    expect(counts('all users', 1)).toEqual({ a: [0, 1], b: [1, 0], c: [2, 2] });
    expect(counts('all users', 2)).toEqual({ 'b > a': [0, 1], 'b > c': [2, 1] });
    expect(counts('all users', 3)).toEqual({ 'a > b > c': [1, 1], 'x > b > c': [1, 0] });
    expect(counts('all users', 4)).toEqual({});
  });

  it('gives shares of converted and stalled users, conversion rates and lift with n', () => {
    expect(find('all users', 'c')).toMatchObject({ users: 4, converted_total: 3, stalled_total: 3, share_converted: 2 / 3, share_stalled: 2 / 3, lift: 0, conversion_rate: 0.5 });
    expect(find('all users', 'b')!.lift).toBeNull(); // no stalled user ends on b: the lift is undefined
    const bc = find('all users', 'b > c')!;
    expect(bc).toMatchObject({ share_converted: 1, share_stalled: 0.5, lift: 1 });
    // Delta method: Var = p_T(1−p_T)/(p_C² n_T) + p_C(1−p_C)·p_T²/(p_C⁴ n_C) = 0 + 0.25/(0.0625·2) = 2; Welch df = 1.
    const width = tQuantile(0.975, 1) * Math.sqrt(2);
    expect(bc.lift_ci_lower).toBeCloseTo(1 - width, 9);
    expect(bc.lift_ci_upper).toBeCloseTo(1 + width, 9);
  });

  it('computes the same per segment, over the segment’s members only', () => {
    expect(counts('p', 1)).toEqual({ c: [1, 1] });
    expect(counts('p', 3)).toEqual({ 'a > b > c': [1, 1] });
  });
});
