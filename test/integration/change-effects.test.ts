/**
 * marts.change_statistics and marts.change_effects on a hand-made warehouse: two
 * groups of four users measured two weeks before and two weeks after a release,
 * with every value written out in USERS below. The difference-in-differences,
 * its standard error, interval and p, each group's change and the weekly
 * pre-trend slopes are worked out here from the per-user values (the test's own
 * arithmetic; only Student's t quantile comes from a library), and compared with
 * what the SQL pass + src/stats wrote. Also: membership as of the release from
 * the history (a user who left before the release is not exposed), the panel
 * (users first seen after the pre window opens are left out), a user in both
 * groups counted as exposed only, window bounds, and a group of one user giving
 * "not enough data" rather than NaN.
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEffectRow } from '../../src/changes/change-analysis.ts';
import { writeChangeEffectsAfterBuild } from '../../src/changes/change-effects-writer.ts';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const SEGMENTS = `segments:
${['treated', 'control_group', 'lonely'].map((name) => `  - name: ${name}
    title: ${name}
    description: A fixture group
    owner: test
    hypothesis: none
    version: 1
    kind: rule
    rule: frequency >= 0`).join('\n')}
`;
const CHANGES: Record<string, string> = {
  'hand.yml': `name: hand
title: Hand-made release
description: Two groups of four users, two weeks either side
owner: test
released_at: 2025-06-01
exposed: { definition: treated }
comparison: { definition: control_group }
pre_days: 14
post_days: 14
metrics:
  - { name: clicked, type: binomial, measure: { events: [click] } }
  - { name: spend, type: mean, measure: { outcomes: [purchase], value: revenue_usd } }
`,
  'tiny.yml': `name: tiny
title: A group of one
description: One exposed user against everyone else
owner: test
released_at: 2025-06-01T00:00:00Z
exposed: { definition: lonely }
comparison: everyone_else
pre_days: 14
post_days: 14
metrics:
  - { name: clicked, type: binomial, measure: { events: [click] } }
`,
};

const R = Date.parse('2025-06-01T00:00:00Z');
const DAY = 86_400_000;
/** Days after the release (negative: before). Pre window [−14, 0): week k=0 is [−14, −7), k=1 is [−7, 0); post [0, 14). */
const at = (day: number) => new Date(R + day * DAY);

/** Per user: group, clicks (days), purchases ([day, usd]); what each counts as is worked out in EXPECTED. */
const USERS: Record<string, { clicks: number[]; purchases: [number, number][] }> = {
  E1: { clicks: [-14, 3], purchases: [[-3, 10], [2, 30]] }, // click at the very start of the pre window counts
  E2: { clicks: [0], purchases: [[5, 20]] }, // click at the very release instant is post
  E3: { clicks: [-2, 1], purchases: [[-10, 5], [-6, 5], [8, 10]] },
  X1: { clicks: [], purchases: [] }, // in both segments: exposed only
  E4: { clicks: [-5, 5], purchases: [[5, 100]] }, // left the segment before the release: in neither group
  L1: { clicks: [-1, 1], purchases: [[1, 100]] }, // first seen after the pre window opened: not in the panel
  C1: { clicks: [-12, -4, 6], purchases: [[-13, 10], [3, 10]] },
  C2: { clicks: [-40, 14, 20], purchases: [] }, // clicks outside both windows (day 14 is the first day after the post window)
  C3: { clicks: [-1], purchases: [[-7, 20], [9, 10]] }, // day −7 opens week k=1
  C4: { clicks: [13.9], purchases: [[4, 5]] },
};
/** Per user in the panel: clicked before / after, weekly clicked (k=0, k=1), spend before / after. */
const EXPECTED: Record<string, { group: 'exposed' | 'comparison'; pre: number; post: number; w: [number, number]; spendPre: number; spendPost: number }> = {
  E1: { group: 'exposed', pre: 1, post: 1, w: [1, 0], spendPre: 10, spendPost: 30 },
  E2: { group: 'exposed', pre: 0, post: 1, w: [0, 0], spendPre: 0, spendPost: 20 },
  E3: { group: 'exposed', pre: 1, post: 1, w: [0, 1], spendPre: 10, spendPost: 10 },
  X1: { group: 'exposed', pre: 0, post: 0, w: [0, 0], spendPre: 0, spendPost: 0 },
  C1: { group: 'comparison', pre: 1, post: 1, w: [1, 1], spendPre: 10, spendPost: 10 },
  C2: { group: 'comparison', pre: 0, post: 0, w: [0, 0], spendPre: 0, spendPost: 0 },
  C3: { group: 'comparison', pre: 1, post: 0, w: [0, 1], spendPre: 20, spendPost: 10 },
  C4: { group: 'comparison', pre: 0, post: 1, w: [0, 0], spendPre: 0, spendPost: 5 },
};

let db: TestDatabase;
let build: RunSummary;
let effects: ChangeEffectRow[];
let table: Record<string, unknown>[];

const dir = (files: Record<string, string>) => {
  const path = mkdtempSync(join(tmpdir(), 'seglayer-changes-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
  return path;
};

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema core; create schema segments;
    create table core.fct_events (user_key text, occurred_at timestamptz, event text, session_id text);
    create table core.fct_outcomes (user_key text, occurred_at timestamptz, outcome_type text, revenue_usd numeric);
    create table core.dim_users (user_key text, first_seen_at timestamptz);
    create table segments.current_membership (user_key text, definition text, segment text, version int);
    create table segments.membership_history (user_key text, definition text, segment text, version int, change text, changed_at timestamptz, reference_at timestamptz)`);
  await db.knex('core.dim_users').insert(Object.keys(USERS).map((u) => ({ user_key: u, first_seen_at: u === 'L1' ? at(-10) : at(-100) })));
  await db.knex('core.fct_events').insert(Object.entries(USERS).flatMap(([u, { clicks }]) => [
    ...clicks.map((day) => ({ user_key: u, occurred_at: at(day), event: 'click' })),
    { user_key: u, occurred_at: at(-3), event: 'page_viewed' }, // other events count for nothing
  ]));
  await db.knex('core.fct_outcomes').insert(Object.entries(USERS).flatMap(([u, { purchases }]) => [
    ...purchases.map(([day, usd]) => ({ user_key: u, occurred_at: at(day), outcome_type: 'purchase', revenue_usd: usd })),
    ...(u === 'E1' ? [{ user_key: u, occurred_at: at(4), outcome_type: 'refund', revenue_usd: 999 }] : []),
  ]));
  const member = (u: string, definition: string) => ({ user_key: u, definition, segment: definition, version: 1 });
  const treated = ['E1', 'E2', 'E3', 'X1', 'E4', 'L1'];
  const control = ['C1', 'C2', 'C3', 'C4', 'X1'];
  // Today (current_membership) E4 is treated again, but at the release it was not; lonely's history starts after the release.
  await db.knex('segments.current_membership').insert([...treated.map((u) => member(u, 'treated')), ...control.map((u) => member(u, 'control_group')), member('C2', 'lonely')]);
  const history = (u: string, definition: string, change: string, day: number) => ({ ...member(u, definition), change, changed_at: at(day), reference_at: at(day) });
  await db.knex('segments.membership_history').insert([
    ...treated.map((u) => history(u, 'treated', 'entered', -30)),
    history('E4', 'treated', 'left', -20),
    history('E4', 'treated', 'entered', 10),
    ...control.map((u) => history(u, 'control_group', 'entered', -30)),
    history('C2', 'lonely', 'entered', 3),
  ]);
  const segmentsDir = dir({ 's.yml': SEGMENTS });
  const changesDir = join(segmentsDir, 'changes');
  mkdirSync(changesDir);
  for (const [name, text] of Object.entries(CHANGES)) writeFileSync(join(changesDir, name), text);
  const project = await loadTestProject({ SEGLAYER_SEGMENTS_DIR: segmentsDir, SEGLAYER_CHANGES_DIR: changesDir });
  build = await runModels(db.knex, db.url, project.models, { select: ['marts.change_statistics'] });
  effects = (await writeChangeEffectsAfterBuild(db.knex, project.changes, build)) ?? [];
  table = (await db.knex.raw(`select * from marts.change_effects order by change, metric`)).rows;
});
afterAll(() => db.drop());

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]) => xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1);

/** Welch comparison of exposed vs comparison per-user values, worked out here. */
function welch(exposed: number[], comparison: number[]) {
  const [ve, vc] = [variance(exposed) / exposed.length, variance(comparison) / comparison.length];
  const effect = mean(exposed) - mean(comparison);
  const se = Math.sqrt(ve + vc);
  const df = (ve + vc) ** 2 / (ve ** 2 / (exposed.length - 1) + vc ** 2 / (comparison.length - 1));
  const half = tQuantile(0.975, df) * se;
  return { effect, se, lower: effect - half, upper: effect + half, p: 2 * (1 - tCdf(Math.abs(effect / se), df)) };
}
const perUser = (group: 'exposed' | 'comparison', value: (e: (typeof EXPECTED)[string]) => number) => Object.values(EXPECTED).filter((e) => e.group === group).map(value);
const effect = (change: string, metric: string) => effects.find((e) => e.change === change && e.metric === metric)!;

describe('marts.change_effects on a hand-made warehouse', () => {
  it('builds the statistics with their tests passing and writes one row per change × metric', () => {
    expect(build.results.map((r) => [r.model, r.status, r.error])).toEqual([['marts.change_statistics', 'success', undefined]]);
    expect(table.map((r) => [r.change, r.metric])).toEqual([['hand', 'clicked'], ['hand', 'spend'], ['tiny', 'clicked']]);
  });

  it('takes membership as of the release from the history, and the panel from users first seen before the pre window', () => {
    const clicked = effect('hand', 'clicked');
    expect([clicked.exposed_n, clicked.comparison_n, clicked.membership_basis]).toEqual([4, 4, 'as_of_release']);
    expect(effect('tiny', 'clicked').membership_basis).toBe('current');
  });

  it('gives each group\'s means and change, and the DiD with se, 95% CI and p, as worked out by hand (binomial)', () => {
    const clicked = effect('hand', 'clicked');
    expect(clicked.exposed_pre_mean).toBeCloseTo(2 / 4, 12);
    expect(clicked.exposed_post_mean).toBeCloseTo(3 / 4, 12);
    expect(clicked.comparison_pre_mean).toBeCloseTo(2 / 4, 12);
    expect(clicked.comparison_post_mean).toBeCloseTo(2 / 4, 12);
    const d = (g: 'exposed' | 'comparison') => perUser(g, (e) => e.post - e.pre);
    const expected = welch(d('exposed'), d('comparison'));
    expect(clicked.did).toBeCloseTo(0.25, 12); // (3/4 − 2/4) − (2/4 − 2/4)
    expect(clicked.did).toBeCloseTo(expected.effect, 12);
    expect(clicked.did_se).toBeCloseTo(expected.se, 12);
    expect(clicked.did_ci_lower).toBeCloseTo(expected.lower, 9);
    expect(clicked.did_ci_upper).toBeCloseTo(expected.upper, 9);
    expect(clicked.did_p_value).toBeCloseTo(expected.p, 9);
    expect(clicked.exposed_change).toBeCloseTo(0.25, 12);
    const half = tQuantile(0.975, 3) * Math.sqrt(variance(d('exposed')) / 4);
    expect(clicked.exposed_change_ci_lower).toBeCloseTo(0.25 - half, 9);
    expect(clicked.comparison_change).toBeCloseTo(0, 12);
  });

  it('does the same for a mean metric (revenue per user in each window)', () => {
    const spend = effect('hand', 'spend');
    expect(spend.exposed_pre_mean).toBeCloseTo(20 / 4, 12);
    expect(spend.exposed_post_mean).toBeCloseTo(60 / 4, 12);
    expect(spend.comparison_pre_mean).toBeCloseTo(30 / 4, 12);
    expect(spend.comparison_post_mean).toBeCloseTo(25 / 4, 12);
    const d = (g: 'exposed' | 'comparison') => perUser(g, (e) => e.spendPost - e.spendPre);
    const expected = welch(d('exposed'), d('comparison'));
    expect(spend.did).toBeCloseTo(10 - -1.25, 12);
    expect(spend.did_se).toBeCloseTo(expected.se, 12);
    expect(spend.did_ci_lower).toBeCloseTo(expected.lower, 9);
    expect(spend.did_p_value).toBeCloseTo(expected.p, 9);
  });

  it('checks parallel trends with the difference of weekly pre-period slopes', () => {
    // Two weeks: each user's slope is y(k=1) − y(k=0).
    const slope = (g: 'exposed' | 'comparison') => perUser(g, (e) => e.w[1] - e.w[0]);
    const expected = welch(slope('exposed'), slope('comparison'));
    const clicked = effect('hand', 'clicked');
    expect(clicked.trend_weeks).toBe(2);
    expect(clicked.trend_slope_difference).toBeCloseTo(0 - 0.25, 12);
    expect(clicked.trend_slope_difference).toBeCloseTo(expected.effect, 12);
    expect(clicked.trend_ci_lower).toBeCloseTo(expected.lower, 9);
    expect(clicked.trend_ci_upper).toBeCloseTo(expected.upper, 9);
    expect(clicked.trend_p_value).toBeCloseTo(expected.p, 9);
    expect(clicked.parallel_trends).toBe(expected.p >= 0.05 ? 'holds' : 'violated');
  });

  it('says "not enough data" for a group of one user, with no NaN anywhere', () => {
    const tiny = table.find((r) => r.change === 'tiny')!;
    expect(tiny.exposed_n).toBe(1);
    expect(tiny.comparison_n).toBe(8); // every other user in the panel (L1 first seen too late)
    expect(tiny.note).toMatch(/not enough data: exposed n=1 \(needs at least 2 users per group\)/);
    expect([tiny.did, tiny.did_se, tiny.did_ci_lower, tiny.did_p_value, tiny.trend_slope_difference, tiny.is_significant]).toEqual([null, null, null, null, null, null]);
    expect(tiny.parallel_trends).toBe('not_tested');
    for (const value of Object.values(tiny)) if (typeof value === 'number') expect(Number.isNaN(value)).toBe(false);
  });
});
