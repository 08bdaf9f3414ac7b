/**
 * marts.segment_validation on a hand-made warehouse with three claims, each
 * "upgrade rate higher than all other users", built so the verdict is known:
 *   fast  — higher in the training window and again in the holdout: holds;
 *   spike — higher in training only (a momentary spike): fails;
 *   tiny  — one member per sample, below the minimum size: not_enough_data.
 * Lifts and intervals are recomputed here from counts taken from the fixture in
 * TypeScript with src/stats (the model renders the formulas as SQL). A fourth claim,
 * active_rate, has events planted on and around the ends of the second half of the
 * follow-up, which marts.user_follow_up decides from marts.user_days (both built with it).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { compare, summarizeBinomial } from '../../src/stats/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

/**
 * as_of 2025-02-01, 5-day follow-up, 10-day windows: holdout signups [01-17, 01-27),
 * training signups [01-07, 01-17). Two separate samples of 200 users: t0… signed up
 * on 01-10, h0… on 01-20.
 */
const range = (prefix: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `${prefix}${from + i}`);
const both = (from: number, to: number) => [...range('t', from, to), ...range('h', from, to)];
const SIGNUP = { t: '2025-01-10T00:00:00Z', h: '2025-01-20T00:00:00Z' };
const USERS = both(0, 199);
const MEMBERS: Record<string, string[]> = { fast: both(0, 39), spike: both(40, 79), tiny: both(80, 80) };
/** Upgrades two days after signup (within the follow-up). */
const UPGRADES = {
  training: [...range('t', 0, 31), ...range('t', 40, 75), ...range('t', 100, 129)],
  holdout: [...range('h', 0, 27), ...range('h', 40, 49), ...range('h', 100, 139)],
};
/** Six days after signup: after the follow-up, so it counts nowhere. */
const LATE_UPGRADES = range('t', 150, 199);
/** Events at hours after signup; the second half of the 5-day follow-up is [60 h, 120 h). */
const EVENT_HOURS: [users: number[], hours: number[]][] = [
  [Array.from({ length: 10 }, (_, i) => i), [60]], // on the start: active
  [Array.from({ length: 10 }, (_, i) => 10 + i), [120 - 1 / 60]], // a minute before the end: active
  [Array.from({ length: 10 }, (_, i) => 20 + i), [120]], // on the end: not active
  [Array.from({ length: 10 }, (_, i) => 30 + i), [60 - 1 / 60]], // a minute before the start: not active
  [Array.from({ length: 10 }, (_, i) => 40 + i), [84]], // a whole day inside: active
  [Array.from({ length: 10 }, (_, i) => 100 + i), [30, 60]],
  [Array.from({ length: 10 }, (_, i) => 110 + i), [30]],
];
const ACTIVE_MEMBERS = both(0, 24);
const claim = (name: string, metric = 'upgrade_rate') => `  - name: ${name}
    title: ${name}
    description: fixture
    owner: test
    hypothesis: upgrades more
    claim: { metric: ${metric}, direction: higher }
    version: 1
    kind: rule
    rule: frequency >= 1
`;

let db: TestDatabase;
let build: RunSummary;
let rows: Record<string, string | number | null>[];
let project: Awaited<ReturnType<typeof loadTestProject>>;
let settings: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema features; create schema core; create schema segments;
    create table features.user_features (user_key text, as_of_at timestamptz, signed_up_at timestamptz, first_seen_at timestamptz);
    create table core.dim_users (user_key text, signed_up_at timestamptz, first_seen_at timestamptz);
    create table core.fct_outcomes (user_key text, occurred_at timestamptz, outcome_type text, revenue_usd numeric, is_revenue boolean);
    create table core.fct_events (user_key text, occurred_at timestamptz);
    create table segments.membership_history (user_key text, definition text, segment text, version int, change text, changed_at timestamptz, reference_at timestamptz);
    create table segments.membership (user_key text, definition text, segment text, version int, since timestamptz)`);
  const signup = (u: string) => Date.parse(SIGNUP[u[0] as 't' | 'h']);
  await db.knex('features.user_features').insert(USERS.map((u) => ({ user_key: u, as_of_at: '2025-02-01T00:00:00Z', signed_up_at: new Date(signup(u)) })));
  await db.knex('core.dim_users').insert(USERS.map((u) => ({ user_key: u, signed_up_at: new Date(signup(u)) })));
  const upgrade = (u: string, days: number) => ({ user_key: u, occurred_at: new Date(signup(u) + days * 86_400_000), outcome_type: 'upgrade', revenue_usd: 10, is_revenue: true });
  await db.knex('core.fct_outcomes').insert([...Object.values(UPGRADES).flat().map((u) => upgrade(u, 2)), ...LATE_UPGRADES.map((u) => upgrade(u, 6))]);
  const events = EVENT_HOURS.flatMap(([users, hours]) => users.flatMap((n) => ['t', 'h'].flatMap((w) => hours.map((h) => ({ user_key: `${w}${n}`, occurred_at: new Date(signup(`${w}${n}`) + h * 3_600_000) })))));
  await db.knex('core.fct_events').insert(events);
  await db.knex('segments.membership').insert(Object.entries({ ...MEMBERS, active: ACTIVE_MEMBERS }).flatMap(([d, users]) => users.map((u) => ({ user_key: u, definition: d, segment: d, version: 1, since: '2025-02-01T00:00:00Z' }))));
  const segments = mkdtempSync(join(tmpdir(), 'seglayer-claims-'));
  writeFileSync(join(segments, 'claims.yml'), `segments:\n${[...['fast', 'spike', 'tiny'].map((c) => claim(c)), claim('active', 'active_rate')].join('\n')}`);
  settings = {
    SEGLAYER_SEGMENTS_DIR: segments, SEGLAYER_FUNNELS_DIR: join(segments, 'no-funnels'), SEGLAYER_MIN_SEGMENT_SIZE: '10',
    SEGLAYER_VALIDATION_TRAINING_DAYS: '10', SEGLAYER_VALIDATION_HOLDOUT_DAYS: '10', SEGLAYER_VALIDATION_FOLLOW_UP_DAYS: '5',
  };
  project = await loadTestProject(settings);
  build = await runModels(db.knex, db.url, project.models, { select: ['marts.user_days', 'marts.user_follow_up', 'marts.segment_validation'] });
  rows = (await db.knex.raw(`select * from marts.segment_validation order by definition`)).rows;
});
afterAll(() => db.drop());

/** The lift of members over the others in one window's sample, from the fixture's lists. */
function expectedLift(definition: string, window: keyof typeof UPGRADES) {
  const members = new Set(MEMBERS[definition]);
  const upgraded = new Set(UPGRADES[window]);
  const sample = USERS.filter((u) => u[0] === window[0]);
  const count = (inGroup: boolean) => {
    const users = sample.filter((u) => members.has(u) === inGroup);
    return summarizeBinomial({ n: users.length, successes: users.filter((u) => upgraded.has(u)).length });
  };
  return compare(count(false), count(true), { scale: 'relative' });
}

describe('marts.segment_validation', () => {
  it('builds with its tests passing', () => {
    expect(build.results.map((r) => [r.model, r.status, r.error])).toEqual([
      ['marts.user_days', 'success', undefined], ['marts.user_follow_up', 'success', undefined], ['marts.segment_validation', 'success', undefined],
    ]);
  });

  it('gives the verdicts the fixture was built for', () => {
    expect(rows.filter((r) => r.definition !== 'active').map((r) => [r.definition, r.verdict, r.membership_basis])).toEqual([
      ['fast', 'holds', 'current'],
      ['spike', 'fails', 'current'],
      ['tiny', 'not_enough_data', 'current'],
    ]);
  });

  it('has window bounds from the configured lengths', () => {
    expect(rows[0]).toMatchObject({
      training_start: new Date('2025-01-07T00:00:00Z'), holdout_start: new Date('2025-01-17T00:00:00Z'), holdout_end: new Date('2025-01-27T00:00:00Z'), follow_up_days: 5,
    });
  });

  it('has lifts and 95% CIs equal to those computed from the fixture’s counts', () => {
    for (const row of rows.filter((r) => r.definition !== 'tiny' && r.definition !== 'active')) {
      for (const window of ['training', 'holdout'] as const) {
        const lift = expectedLift(String(row.definition), window);
        expect(row[`${window}_n`]).toBe(40);
        expect(row[`${window}_n`]).toBe(lift.treatment_n);
        expect(row[`${window}_others_n`]).toBe(lift.control_n);
        expect(row[`${window}_lift`] as number).toBeCloseTo(lift.effect, 12);
        expect(row[`${window}_lift_ci_lower`] as number).toBeCloseTo(lift.ci_lower, 5);
        expect(row[`${window}_lift_ci_upper`] as number).toBeCloseTo(lift.ci_upper, 5);
      }
    }
  });

  it('counts a user active for an event from the middle of the follow-up up to (not at) its end', () => {
    const row = rows.find((r) => r.definition === 'active')!;
    const members = new Set(ACTIVE_MEMBERS);
    const active = new Set(EVENT_HOURS.flatMap(([users, hours]) => (hours.some((h) => h >= 60 && h < 120) ? users : [])));
    for (const window of ['training', 'holdout'] as const) {
      const sample = USERS.filter((u) => u[0] === window[0]);
      const share = (inGroup: boolean) => {
        const users = sample.filter((u) => members.has(u) === inGroup);
        return users.filter((u) => active.has(Number(u.slice(1)))).length / users.length;
      };
      expect(row[`${window}_value`]).toBeCloseTo(share(true), 12);
      expect(row[`${window}_others_value`]).toBeCloseTo(share(false), 12);
    }
    expect(row.training_value).toBe(0.8); // 20 of 25 members: the first 20 are active, 20–24 had their event on the end
  });

  it('reads membership as of the holdout start from history for a definition whose history reaches back that far', async () => {
    // fast: history from before the holdout start (2025-01-17), t0 its only member then; spike: history only from after it.
    const entered = (definition: string, at: string) => ({ user_key: 't0', definition, segment: definition, version: 1, change: 'entered', changed_at: at, reference_at: at });
    await db.knex('segments.membership_history').insert([entered('fast', '2025-01-10T00:00:00Z'), entered('spike', '2025-01-20T00:00:00Z')]);
    expect((await runModels(db.knex, db.url, project.models, { select: ['marts.segment_validation'] })).ok).toBe(true);
    const after = (await db.knex.raw(`select definition, membership_basis, training_n::int, holdout_n::int from marts.segment_validation where definition <> 'active' order by definition`)).rows;
    expect(after).toEqual([
      { definition: 'fast', membership_basis: 'history', training_n: 1, holdout_n: 0 },
      { definition: 'spike', membership_basis: 'current', training_n: 40, holdout_n: 40 },
      { definition: 'tiny', membership_basis: 'current', training_n: rows.find((r) => r.definition === 'tiny')!.training_n, holdout_n: rows.find((r) => r.definition === 'tiny')!.holdout_n },
    ]);
  });

  it('measures over the follow-up its per-user rows hold: built alone after the setting changed, then with them', async () => {
    const longer = await loadTestProject({ ...settings, SEGLAYER_VALIDATION_FOLLOW_UP_DAYS: '6' });
    const bounds = async () => (await db.knex.raw(`select distinct follow_up_days, holdout_end from marts.segment_validation`)).rows;
    // marts.user_follow_up still holds 5-day follow-ups: the windows end 5 days before as_of_at, as they are measured.
    expect((await runModels(db.knex, db.url, longer.models, { select: ['marts.segment_validation'] })).ok).toBe(true);
    expect(await bounds()).toEqual([{ follow_up_days: 5, holdout_end: new Date('2025-01-27T00:00:00Z') }]);
    // Its SQL changed with the setting, so it is built in full: 6-day follow-ups, windows ending 6 days before.
    const both = await runModels(db.knex, db.url, longer.models, { select: ['marts.user_follow_up', 'marts.segment_validation'] });
    expect(both.results.map((r) => [r.model, r.status])).toEqual([['marts.user_follow_up', 'success'], ['marts.segment_validation', 'success']]);
    expect(await bounds()).toEqual([{ follow_up_days: 6, holdout_end: new Date('2025-01-26T00:00:00Z') }]);
  });
});
