/**
 * marts.segment_value on a hand-made warehouse: features.user_features,
 * core.dim_users, core.fct_outcomes, core.fct_events and segments.membership are
 * written by hand and only the mart (with features.user_facts, its per-user facts)
 * is built, so every figure below is worked out by hand in this file (means, LTV
 * by tenure) and every interval from the textbook formula with stdlib's quantiles —
 * not from the model's SQL.
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const AS_OF = '2025-07-01T00:00:00Z';
/** user, signed up, last seen, orders, net revenue, cost, churned, in segment value:high */
const USERS: [string, string, string, number, number, number, boolean, boolean][] = [
  ['u1', '2025-01-01', '2025-06-20', 2, 100, 10, false, true],
  ['u2', '2025-05-15', '2025-06-25', 1, 30, 5, false, true],
  ['u3', '2024-06-01', '2025-01-10', 0, 0, 2, true, true],
  ['u4', '2025-02-01', '2025-06-30', 1, 20, 4, false, false],
  ['u5', '2025-06-10', '2025-06-10', 0, 0, 1, false, false],
  ['u6', '2024-12-01', '2025-03-01', 1, 40, 8, true, false],
];
/** user, time, revenue (a refund is negative) */
const OUTCOMES: [string, string, number][] = [
  ['u1', '2025-01-15', 40], ['u1', '2025-03-10', 60], ['u2', '2025-05-20', 30], ['u4', '2025-04-15', 20], ['u6', '2024-12-05', 50], ['u6', '2025-01-20', -10],
];
/** Events: u1 in month 1 (Feb) and month 3 (Apr); u4 in month 1 (March) only; u6 in month 1 (Jan) and month 3 (March). */
const EVENTS: [string, string][] = [['u1', '2025-02-10'], ['u1', '2025-04-02'], ['u4', '2025-03-05'], ['u6', '2025-01-02'], ['u6', '2025-03-15']];

const Z = 1.959963984540054;
const wilson = (x: number, n: number) => {
  const p = x / n;
  const c = (p + (Z * Z) / (2 * n)) / (1 + (Z * Z) / n);
  const h = (Z / (1 + (Z * Z) / n)) * Math.sqrt((p * (1 - p)) / n + (Z * Z) / (4 * n * n));
  return [x === 0 ? 0 : c - h, x === n ? 1 : c + h];
};
const moments = (xs: number[]) => {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  return { n: xs.length, mean, variance: xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) };
};

let db: TestDatabase;
let build: RunSummary;
let rows: Map<string, Record<string, number | string | null>>;

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema features; create schema core; create schema segments;
    create table features.user_features (user_key text, as_of_at timestamptz, signed_up_at timestamptz, first_seen_at timestamptz, last_seen_at timestamptz, frequency bigint, has_churned boolean, revenue_usd numeric, cost_to_serve_usd numeric, gross_margin_usd numeric);
    create table core.dim_users (user_key text, signed_up_at timestamptz, first_seen_at timestamptz);
    create table core.fct_outcomes (user_key text, occurred_at timestamptz, revenue_usd numeric, is_revenue boolean, is_order boolean, order_id text, outcome_type text);
    create table core.fct_events (user_key text, occurred_at timestamptz, session_id text, event text, properties jsonb);
    create table core.fct_costs (user_key text, cost_usd numeric);
    create table segments.membership (user_key text, definition text, segment text, version int, since timestamptz)`);
  await db.knex('features.user_features').insert(USERS.map(([u, signed, seen, frequency, revenue, cost, churned]) => ({
    user_key: u, as_of_at: AS_OF, signed_up_at: `${signed}T00:00:00Z`, first_seen_at: `${signed}T00:00:00Z`, last_seen_at: `${seen}T12:00:00Z`,
    frequency, has_churned: churned, revenue_usd: revenue, cost_to_serve_usd: cost, gross_margin_usd: revenue - cost,
  })));
  // features.user_facts (built here too) reads the events and outcomes below; only the mart's own figures are checked.
  await db.knex('core.dim_users').insert(USERS.map(([u, signed]) => ({ user_key: u, signed_up_at: `${signed}T00:00:00Z`, first_seen_at: `${signed}T00:00:00Z` })));
  await db.knex('core.fct_outcomes').insert(OUTCOMES.map(([u, at, revenue]) => ({ user_key: u, occurred_at: `${at}T12:00:00Z`, revenue_usd: revenue, is_revenue: true })));
  await db.knex('core.fct_events').insert(EVENTS.map(([u, at]) => ({ user_key: u, occurred_at: `${at}T12:00:00Z` })));
  await db.knex('segments.membership').insert(USERS.filter((u) => u[7]).map(([u]) => ({ user_key: u, definition: 'value', segment: 'high', version: 1, since: AS_OF })));
  build = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['features.user_facts', 'marts.segment_value'] });
  const result = await db.knex.raw(`select definition, segment, metric, n::int, members::int, value, ci_lower, ci_upper, others_n::int, others_value, lift, lift_ci_lower, lift_ci_upper from marts.segment_value`);
  rows = new Map(result.rows.map((r: Record<string, string>) => [`${r.segment}/${r.metric}`, r]));
});
afterAll(() => db.drop());

describe('marts.segment_value on a hand-made warehouse', () => {
  it('builds with its tests passing', () => {
    expect(build.results.map((r) => [r.model, r.status, r.error])).toEqual([['features.user_facts', 'success', undefined], ['marts.segment_value', 'success', undefined]]);
  });

  it('has observed LTV by tenure over the users who reached it, worked out by hand', () => {
    // ltv_1m: u1 40 (Jan 15 < Feb 1), u2 30, u3 0, u4 0 (first order in April), u5 not a month old, u6 50 (refund after Jan 1).
    // ltv_3m: u1 100, u3 0 | u4 20, u6 40 (50 − 10); u2, u5 too young.  ltv_6m: u1 100, u3 0 | u6 40.  ltv_12m: u3 0 only.
    const expected: Record<string, [number, number, number, number]> = {
      // [segment n, segment mean, others n, others mean]
      ltv_1m: [3, 70 / 3, 2, 25],
      ltv_3m: [2, 50, 2, 30],
      ltv_6m: [2, 50, 1, 40],
      ltv_12m: [1, 0, 0, NaN],
    };
    for (const [metric, [n, mean, othersN]] of Object.entries(expected)) {
      const row = rows.get(`high/${metric}`)!;
      expect([row.n, row.value, row.others_n], metric).toEqual([n, mean, othersN]);
    }
    expect(rows.get('all users/ltv_3m')).toMatchObject({ n: 4, value: 40, members: 6, others_n: null, lift: null });
  });

  it('gives a mean its Student-t interval and the lift its delta-method Welch interval', () => {
    const segment = moments([100, 0]);
    const others = moments([20, 40]);
    const row = rows.get('high/ltv_3m')!;
    const width = tQuantile(0.975, 1) * Math.sqrt(segment.variance / 2);
    expect(row.ci_lower).toBeCloseTo(50 - width, 9);
    expect(row.ci_upper).toBeCloseTo(50 + width, 9);
    // lift = (50 − 30)/30; Var = s²_T/(μ_C² n_T) + s²_C μ_T²/(μ_C⁴ n_C); Welch df = 1.08, below 30 rounded down to 1.
    const variance = segment.variance / (900 * 2) + (others.variance * 2500) / (810000 * 2);
    const c = others.variance / 2;
    const t = segment.variance / 2;
    const df = (c + t) ** 2 / (c * c + t * t);
    expect(df).toBeGreaterThan(1);
    expect(df).toBeLessThan(2);
    const liftWidth = tQuantile(0.975, 1) * Math.sqrt(variance);
    expect(row.lift).toBeCloseTo(2 / 3, 12);
    expect(row.lift_ci_lower).toBeCloseTo(2 / 3 - liftWidth, 9);
    expect(row.lift_ci_upper).toBeCloseTo(2 / 3 + liftWidth, 9);
  });

  it('gives proportions their Wilson interval: conversion, activity, churn, retention', () => {
    // conversion: high u1 u2 paying of 3; active (last seen after June 1): u1 u2 | u4 u5; churn: u3 | u6.
    const cases: [string, number, number][] = [['conversion_rate', 2, 3], ['active_rate', 2, 3], ['churn_rate', 1, 3]];
    for (const [metric, x, n] of cases) {
      const row = rows.get(`high/${metric}`)!;
      const [lower, upper] = wilson(x, n);
      expect([row.n, row.value], metric).toEqual([n, x / n]);
      expect(row.ci_lower, metric).toBeCloseTo(lower!, 12);
      expect(row.ci_upper, metric).toBeCloseTo(upper!, 12);
    }
    // retention month 1 among users whose month 1 has ended (signup + 2 months ≤ July 1): u1 yes, u3 no | u4 yes, u6 yes.
    expect(rows.get('high/retention_month_1')).toMatchObject({ n: 2, value: 0.5, others_n: 2, others_value: 1 });
    expect(rows.get('high/retention_month_1')!.ci_lower).toBeCloseTo(wilson(1, 2)[0]!, 12);
    // month 3 (signup + 4 months ≤ July 1): u1 yes (Apr 2), u3 no | u4 no (May 1 – June 1 empty), u6 yes (March 15).
    expect(rows.get('high/retention_month_3')).toMatchObject({ n: 2, value: 0.5, others_n: 2, others_value: 0.5 });
  });

  it('computes revenue per active and per paying user over those users only', () => {
    expect(rows.get('high/revenue_per_active_user')).toMatchObject({ n: 2, value: 65 });
    expect(rows.get('high/arppu')).toMatchObject({ n: 2, value: 65, others_n: 2, others_value: 30 });
    expect(rows.get('all users/gross_margin_per_user')).toMatchObject({ n: 6, value: (190 - 30) / 6 });
  });
});
