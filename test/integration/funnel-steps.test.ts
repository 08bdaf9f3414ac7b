/**
 * marts.funnel_steps on a hand-made event log: a three-step funnel (signed_up →
 * feature_used with feature = 'reports' → checkout_completed on desktop, 7-day
 * window) broken down by a segment definition. Only the mart and its per-user half
 * (marts.user_funnel_progress) are built, from hand-written core.fct_events and segments.membership; every count, rate and
 * median below is worked out by hand from the table in EVENTS.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const FUNNEL = `funnels:
  - name: reports_to_checkout
    title: Reports to checkout
    description: Signup, then the reports feature, then a desktop checkout
    owner: growth
    conversion_window: 7 days
    breakdown: tier
    properties: { feature: text }
    steps:
      - event: signed_up
      - event: feature_used
        title: Used reports
        where: feature = 'reports'
      - event: checkout_completed
        where: device_type = 'desktop'
  - name: signup_to_checkout
    title: Signup to checkout
    description: A second funnel, without breakdown, built in the same statement
    owner: growth
    conversion_window: 7 days
    steps:
      - event: signed_up
      - event: checkout_completed
`;
const SEGMENTS = `segments:
  - name: tier
    title: Tier
    description: A rule segment the fixture's breakdown refers to
    owner: test
    hypothesis: none
    version: 1
    kind: rule
    rule: frequency >= 1
`;
/** user, hour after T0, event, feature, device */
const EVENTS: [string, number, string, string | null, string][] = [
  ['u1', 0, 'signed_up', null, 'desktop'], ['u1', 24, 'feature_used', 'reports', 'desktop'], ['u1', 48, 'checkout_completed', null, 'desktop'],
  ['u2', 0, 'signed_up', null, 'mobile'], ['u2', 24, 'feature_used', 'export', 'mobile'], ['u2', 72, 'feature_used', 'reports', 'mobile'], ['u2', 96, 'checkout_completed', null, 'mobile'],
  // u3 checks out before using reports: the checkout does not count.
  ['u3', 0, 'signed_up', null, 'desktop'], ['u3', 24, 'checkout_completed', null, 'desktop'], ['u3', 48, 'feature_used', 'reports', 'desktop'],
  // u4 checks out after 9 days: outside the window.
  ['u4', 0, 'signed_up', null, 'desktop'], ['u4', 24, 'feature_used', 'reports', 'desktop'], ['u4', 216, 'checkout_completed', null, 'desktop'],
  // u5 never signs up: not in the funnel.
  ['u5', 0, 'feature_used', 'reports', 'desktop'],
  // u6 uses reports at the very instant of signup: order is strict, so step 2 is not reached (nor step 3).
  ['u6', 0, 'signed_up', null, 'desktop'], ['u6', 0, 'feature_used', 'reports', 'desktop'], ['u6', 24, 'checkout_completed', null, 'desktop'],
  // u7 signs up twice: the funnel starts at the first signup; checkout at 160 h is within 7 days (168 h).
  ['u7', 0, 'signed_up', null, 'desktop'], ['u7', 120, 'signed_up', null, 'desktop'], ['u7', 144, 'feature_used', 'reports', 'desktop'], ['u7', 160, 'checkout_completed', null, 'desktop'],
];
const TIER: Record<string, string> = { u1: 'tier', u2: 'tier', u7: 'tier', u3: 'other', u5: 'other', u6: 'other' };
const T0 = Date.parse('2025-03-01T00:00:00Z');
const HOUR = 3600;

let db: TestDatabase;
let build: RunSummary;
let rows: Record<string, string | number | null>[];
let unbroken: Record<string, string | number | null>[];

const dir = (files: Record<string, string>) => {
  const path = mkdtempSync(join(tmpdir(), 'seglayer-funnel-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
  return path;
};

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema core; create schema segments;
    create table core.fct_events (user_key text, occurred_at timestamptz, event text, properties jsonb, device_type text, os text, browser text, country text);
    create table segments.membership (user_key text, definition text, segment text, version int, since timestamptz)`);
  await db.knex('core.fct_events').insert(EVENTS.map(([u, hour, event, feature, device]) => ({
    user_key: u, occurred_at: new Date(T0 + hour * HOUR * 1000), event, properties: JSON.stringify(feature ? { feature } : {}), device_type: device,
  })));
  // Segment names: gold = u1 u2 u7, silver = u3 u5 u6; u4 in none.
  await db.knex('segments.membership').insert(Object.entries(TIER).map(([u]) => ({ user_key: u, definition: 'tier', segment: ['u1', 'u2', 'u7'].includes(u) ? 'gold' : 'silver', version: 1, since: new Date(T0) })));
  const project = await loadTestProject({ SEGLAYER_FUNNELS_DIR: dir({ 'f.yml': FUNNEL }), SEGLAYER_SEGMENTS_DIR: dir({ 's.yml': SEGMENTS }) });
  build = await runModels(db.knex, db.url, project.models, { select: ['marts.user_funnel_progress', 'marts.funnel_steps'] });
  rows = (await db.knex.raw(`select segment, step_number, step_title, users::int, previous_step_users::int, conversion_from_previous, conversion_from_first,
      conversion_from_previous_ci_lower, median_seconds_from_previous, median_seconds_from_first from marts.funnel_steps
      where funnel = 'reports_to_checkout' order by segment, step_number`)).rows;
  unbroken = (await db.knex.raw(`select breakdown_definition, segment, step_number, users::int, median_seconds_from_previous, median_seconds_from_first
      from marts.funnel_steps where funnel = 'signup_to_checkout' order by segment, step_number`)).rows;
});
afterAll(() => db.drop());

const of = (segment: string, field: string) => rows.filter((r) => r.segment === segment).map((r) => r[field]);

describe('marts.funnel_steps on a hand-made event log', () => {
  it('builds with its tests passing', () => {
    expect(build.results.map((r) => [r.model, r.status, r.error])).toEqual([['marts.user_funnel_progress', 'success', undefined], ['marts.funnel_steps', 'success', undefined]]);
  });

  it('counts users reaching each step in order within the window', () => {
    // step 1: u1 u2 u3 u4 u6 u7; step 2: u1 u2 u3 u4 u7; step 3: u1 u7.
    expect(of('all', 'users')).toEqual([6, 5, 2]);
    expect(of('all', 'step_title')).toEqual(['signed_up', 'Used reports', 'checkout_completed']);
    expect(of('all', 'conversion_from_previous')).toEqual([null, 5 / 6, 2 / 5]);
    expect(of('all', 'conversion_from_first')).toEqual([1, 5 / 6, 2 / 6]);
  });

  it('breaks the funnel down by the segment definition, with users in none apart', () => {
    expect(of('gold', 'users')).toEqual([3, 3, 2]);
    expect(of('silver', 'users')).toEqual([2, 1, 0]); // u3 and u6; u5 never started
    expect(of('(none)', 'users')).toEqual([1, 1, 0]); // u4
    expect(of('silver', 'conversion_from_previous')).toEqual([null, 0.5, 0]);
  });

  it('gives median times to convert from the previous and the first step', () => {
    // step 2 after step 1: 24, 72, 48, 24, 144 h → 48 h; step 3 after step 2: 24 h (u1), 16 h (u7) → 20 h; from step 1: 48, 160 h → 104 h.
    expect(of('all', 'median_seconds_from_previous')).toEqual([null, 48 * HOUR, 20 * HOUR]);
    expect(of('all', 'median_seconds_from_first')).toEqual([0, 48 * HOUR, 104 * HOUR]);
  });

  it('gives a funnel without breakdown its "all" rows alone, beside the other funnel', () => {
    // checkout within 7 days of the first signup: u1 48 h, u2 96 h, u3 24 h, u6 24 h, u7 160 h (u4 216 h is late) → median 48 h.
    expect(unbroken).toEqual([
      { breakdown_definition: 'all', segment: 'all', step_number: 1, users: 6, median_seconds_from_previous: null, median_seconds_from_first: 0 },
      { breakdown_definition: 'all', segment: 'all', step_number: 2, users: 5, median_seconds_from_previous: 48 * HOUR, median_seconds_from_first: 48 * HOUR },
    ]);
  });

  it('gives conversions a Wilson interval (5 of 6)', () => {
    const z = 1.959963984540054;
    const [n, p] = [6, 5 / 6];
    const lower = (p + (z * z) / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
    expect(rows.find((r) => r.segment === 'all' && r.step_number === 2)!.conversion_from_previous_ci_lower).toBeCloseTo(lower, 12);
  });
});

describe('funnel definitions', () => {
  it('reports a wrong condition, an unknown breakdown and a bad window with file:line:column', async () => {
    const bad = `funnels:
  - name: broken
    title: Broken
    description: Three mistakes
    owner: test
    conversion_window: a fortnight
    breakdown: no_such_definition
    steps:
      - event: signed_up
      - event: feature_used
        where: feature = 'reports'
`;
    const error = await loadTestProject({ SEGLAYER_FUNNELS_DIR: dir({ 'bad.yml': bad }), SEGLAYER_SEGMENTS_DIR: dir({ 's.yml': SEGMENTS }) }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(/bad\.yml:6:\d+.*conversion_window/s);
    const fixed = bad.replace('a fortnight', '14 days');
    const second = await loadTestProject({ SEGLAYER_FUNNELS_DIR: dir({ 'bad.yml': fixed }), SEGLAYER_SEGMENTS_DIR: dir({ 's.yml': SEGMENTS }) }).catch((e: Error) => e);
    const text = String((second as Error).message);
    expect(text).toMatch(/bad\.yml:7:16 .*unknown segment definition "no_such_definition"/);
    expect(text).toMatch(/bad\.yml:11:16 .*unknown feature "feature"/); // properties not declared
  });

  it('refuses a breakdown whose definition has a segment named "all", the funnel\'s row for everyone', async () => {
    const bands = `${SEGMENTS}  - name: value_bands
    title: Value bands
    description: A catch-all band named all
    owner: test
    hypothesis: none
    version: 1
    kind: rfm
    rfm:
      recency: recency_days
      frequency: frequency
      monetary: monetary_usd
      bands:
        - name: all
          description: everyone scored
          rule: r >= 1
`;
    const funnel = (breakdown: string) => `funnels:
  - name: by_band
    title: By band
    description: Broken down by the bands
    owner: test
    conversion_window: 7 days
    breakdown: ${breakdown}
    steps:
      - event: signed_up
      - event: checkout_completed
`;
    const load = (breakdown: string) =>
      loadTestProject({ SEGLAYER_FUNNELS_DIR: dir({ 'f.yml': funnel(breakdown) }), SEGLAYER_SEGMENTS_DIR: dir({ 's.yml': bands }) }).catch((e: Error) => e);
    expect(String(((await load('value_bands')) as Error).message)).toMatch(/f\.yml:7:16 .*"value_bands" has a segment named "all"/);
    expect(await load('tier')).not.toBeInstanceOf(Error); // the same project, broken down by a definition without one
  });
});
