/**
 * marts.segment_daily on a hand-made warehouse: only the mart is built, over
 * hand-written features, membership history, events, outcomes and costs, and
 * every figure is worked out by hand below (with marts.user_days, the per-user days it reads). The point it proves: members are
 * counted as of each day from the history (a left on the 4th, b entered on
 * the 3rd), and activity counts only while a user was a member.
 */
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

let db: TestDatabase;
let build: RunSummary;
let rows: Record<string, string | number | null>[];

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema features; create schema core; create schema segments;
    create table features.user_features (user_key text, as_of_at timestamptz, signed_up_at timestamptz, first_seen_at timestamptz);
    create table segments.membership_history (user_key text, definition text, segment text, version int, change text, changed_at timestamptz, reference_at timestamptz);
    create table core.fct_events (user_key text, occurred_at timestamptz);
    create table core.fct_outcomes (user_key text, occurred_at timestamptz, outcome_type text, revenue_usd numeric, is_revenue boolean);
    create table core.fct_costs (user_key text, period_start date, period_end date, cost_usd numeric)`);
  const asOf = '2025-01-06T00:00:00Z';
  await db.knex('features.user_features').insert([
    { user_key: 'a', as_of_at: asOf, signed_up_at: '2025-01-01T08:00:00Z' },
    { user_key: 'b', as_of_at: asOf, signed_up_at: '2025-01-02T08:00:00Z' },
    { user_key: 'c', as_of_at: asOf, signed_up_at: '2025-01-01T09:00:00Z' },
  ]);
  await db.knex('segments.membership_history').insert([
    { user_key: 'a', definition: 'd', segment: 's', version: 1, change: 'entered', changed_at: '2025-01-02T10:00:00Z', reference_at: '2025-01-02T10:00:00Z' },
    { user_key: 'a', definition: 'd', segment: 's', version: 1, change: 'left', changed_at: '2025-01-04T10:00:00Z', reference_at: '2025-01-04T10:00:00Z' },
    { user_key: 'b', definition: 'd', segment: 's', version: 1, change: 'entered', changed_at: '2025-01-03T00:00:00Z', reference_at: '2025-01-03T00:00:00Z' },
  ]);
  const events = [['a', '01', 2], ['a', '02', 3], ['a', '03', 1], ['b', '03', 5], ['c', '05', 1]] as const;
  await db.knex('core.fct_events').insert(events.flatMap(([u, day, n]) => Array.from({ length: n }, (_, i) => ({ user_key: u, occurred_at: `2025-01-${day}T1${i}:00:00Z` }))));
  await db.knex('core.fct_outcomes').insert([
    { user_key: 'b', occurred_at: '2025-01-03T12:00:00Z', outcome_type: 'purchase', revenue_usd: 10, is_revenue: true },
    { user_key: 'a', occurred_at: '2025-01-04T12:00:00Z', outcome_type: 'refund', revenue_usd: -5, is_revenue: true },
  ]);
  await db.knex('core.fct_costs').insert([{ user_key: 'a', period_start: '2025-01-01', period_end: '2025-01-05', cost_usd: 5 }]);
  build = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['marts.user_days', 'marts.segment_daily'] });
  rows = (await db.knex.raw(`select definition, segment, day::text as day, members::int, active_users::int, events::int, events_per_active_user,
      events_per_active_user_ci_lower as lower, events_per_active_user_ci_upper as upper, conversions::int, revenue_usd::float8 as revenue, cost_usd::float8 as cost
      from marts.segment_daily order by 1, 2, 3`)).rows;
});
afterAll(() => db.drop());

const series = (segment: string, field: string) => rows.filter((r) => r.segment === segment).map((r) => r[field]);

describe('marts.segment_daily on a hand-made warehouse', () => {
  it('builds with its tests passing', () => {
    expect(build.results.map((r) => [r.model, r.status, r.error])).toEqual([['marts.user_days', 'success', undefined], ['marts.segment_daily', 'success', undefined]]);
  });

  it('covers every day from the first activity to the day before as_of_at', () => {
    expect(series('s', 'day')).toEqual(['2025-01-01', '2025-01-02', '2025-01-03', '2025-01-04', '2025-01-05']);
  });

  it('counts members as of each day from the history, not today’s members', () => {
    expect(series('s', 'members')).toEqual([0, 1, 2, 1, 1]);
    expect(series('all users', 'members')).toEqual([2, 3, 3, 3, 3]);
  });

  it('counts activity, conversions, revenue and cost only while a user was a member', () => {
    expect(series('s', 'active_users')).toEqual([0, 1, 2, 0, 0]);
    expect(series('s', 'events')).toEqual([0, 3, 6, 0, 0]);
    expect(series('s', 'conversions')).toEqual([0, 0, 1, 0, 0]);
    expect(series('s', 'revenue')).toEqual([0, 0, 10, 0, 0]); // a's refund on the 4th came after a left
    expect(series('s', 'cost')).toEqual([0, 1, 1, 0, 0]);
    expect(series('all users', 'revenue')).toEqual([0, 0, 10, -5, 0]);
    expect(series('all users', 'cost')).toEqual([1, 1, 1, 1, 1]);
  });

  it('gives events per active user its Student-t interval', () => {
    const day = rows.find((r) => r.segment === 's' && r.day === '2025-01-03')!;
    // a: 1 event, b: 5 → mean 3, s² = 8, se = 2, t(0.975; 1) = 12.706
    expect(day.events_per_active_user).toBe(3);
    expect(day.lower).toBeCloseTo(3 - tQuantile(0.975, 1) * 2, 9);
    expect(day.upper).toBeCloseTo(3 + tQuantile(0.975, 1) * 2, 9);
    expect(rows.find((r) => r.segment === 's' && r.day === '2025-01-02')!.lower).toBeNull(); // one active user: no interval
  });
});
