/**
 * The semantic API answers what hand-written SQL answers on the same data: REST
 * through the official @cubejs-client/core, GraphQL through graphql-request.
 * Row filters are part of every answer, so each case is checked for an
 * unrestricted admin and for a region-scoped analyst.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from 'graphql-request';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';

let api: ApiFixture;
let admin: string;
let analystCA: string;

beforeAll(async () => {
  api = await startApiFixture();
  admin = await api.token({ role: 'admin' });
  analystCA = await api.token({ role: 'analyst', region: 'CA' });
});
afterAll(() => api?.close());

/** Rows of a REST answer with numbers as numbers and keys as given, sorted for comparison. */
function normalize(rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const out = rows.map((row) => Object.fromEntries(Object.entries(row).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v instanceof Date ? v.toISOString() : v])));
  // Sort by the dimensions (strings); measures are numbers.
  const key = (row: Record<string, unknown>) => JSON.stringify(Object.values(row).filter((v) => typeof v !== 'number' && v !== null));
  return out.sort((a, b) => key(a).localeCompare(key(b)));
}
const close = (actual: Record<string, unknown>[], expected: Record<string, unknown>[]) => {
  expect(actual.length).toBe(expected.length);
  actual.forEach((row, i) => {
    for (const [key, value] of Object.entries(expected[i]!)) {
      // A sum over no rows is NULL in SQL and 0 from a rollup: the same answer to a reader.
      if (typeof value === 'number' || (value === null && typeof row[key] === 'number')) expect(row[key] ?? 0, `${key} of row ${i}`).toBeCloseTo((value as number | null) ?? 0, 6);
      else expect(row[key], `${key} of row ${i}`).toEqual(value);
    }
  });
};

/** Who asks, and the SQL predicate on dim_users (alias u) their answer must equal. */
const CALLERS = [
  { name: 'admin (all rows)', token: () => admin, where: 'true' },
  { name: 'analyst scoped to region CA', token: () => analystCA, where: "u.region = 'CA'" },
];
/** How Cube renders a time dimension of this granularity in UTC. */
const timeOf = (column: string, granularity: string) => `to_char(date_trunc('${granularity}', ${column} at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS.MS')`;

const USER_REVENUE = `(select user_key, sum(revenue_usd) filter (where is_revenue) as revenue from core.fct_outcomes group by 1)`;
const USER_COST = `(select user_key, sum(cost_usd) as cost from core.fct_costs group by 1)`;

interface Case {
  name: string;
  query: Record<string, unknown>;
  sql: (where: string) => string;
}

const CASES: Case[] = [
  {
    name: 'value measures (count, paying, revenue, ARPU, conversion) by plan and channel',
    query: {
      measures: ['user_value.count', 'user_value.paying_users', 'user_value.total_revenue', 'user_value.arpu', 'user_value.conversion_rate'],
      dimensions: ['user_value.plan', 'user_value.acquisition_channel'],
    },
    sql: (where) => `
      select u.plan as "user_value.plan", u.acquisition_channel as "user_value.acquisition_channel",
             count(*) as "user_value.count", count(*) filter (where r.revenue > 0) as "user_value.paying_users",
             sum(r.revenue) as "user_value.total_revenue", sum(r.revenue) / count(*) as "user_value.arpu",
             100.0 * count(*) filter (where r.revenue > 0) / count(*) as "user_value.conversion_rate"
      from core.dim_users u left join ${USER_REVENUE} r using (user_key) where ${where} group by 1, 2`,
  },
  {
    name: 'activity by event and month, within a date range',
    query: {
      measures: ['user_activity.count', 'user_activity.active_users', 'user_activity.sessions'],
      dimensions: ['user_activity.event'],
      timeDimensions: [{ dimension: 'user_activity.occurred_at', granularity: 'month', dateRange: ['2025-01-01', '2025-06-30'] }],
    },
    sql: (where) => `
      select e.event as "user_activity.event", ${timeOf('e.occurred_at', 'month')} as "user_activity.occurred_at.month",
             count(*) as "user_activity.count", count(distinct e.user_key) as "user_activity.active_users", count(distinct e.session_id) as "user_activity.sessions"
      from core.fct_events e left join core.dim_users u using (user_key)
      where ${where} and e.occurred_at >= '2025-01-01T00:00:00Z' and e.occurred_at <= '2025-06-30T23:59:59.999Z' group by 1, 2`,
  },
  {
    name: 'weekly mobile activity by plan (filter on an event attribute and a user attribute)',
    query: {
      measures: ['user_activity.count', 'user_activity.events_per_user'],
      dimensions: ['user_activity.plan'],
      timeDimensions: [{ dimension: 'user_activity.occurred_at', granularity: 'week', dateRange: ['2025-03-01', '2025-04-30'] }],
      filters: [
        { member: 'user_activity.device_type', operator: 'equals', values: ['mobile'] },
        { member: 'user_activity.acquisition_channel', operator: 'set' },
      ],
    },
    sql: (where) => `
      select u.plan as "user_activity.plan", ${timeOf('e.occurred_at', 'week')} as "user_activity.occurred_at.week",
             count(*) as "user_activity.count", 1.0 * count(*) / count(distinct e.user_key) as "user_activity.events_per_user"
      from core.fct_events e left join core.dim_users u using (user_key)
      where ${where} and e.device_type = 'mobile' and u.acquisition_channel is not null
        and e.occurred_at >= '2025-03-01T00:00:00Z' and e.occurred_at <= '2025-04-30T23:59:59.999Z' group by 1, 2`,
  },
  {
    name: 'revenue, refunds and orders by outcome type and day, for some plans',
    query: {
      measures: ['revenue.net_revenue', 'revenue.refunds', 'revenue.orders', 'revenue.count'],
      dimensions: ['revenue.outcome_type'],
      timeDimensions: [{ dimension: 'revenue.occurred_at', granularity: 'day', dateRange: ['2025-01-01', '2025-12-31'] }],
      filters: [{ member: 'revenue.plan_involved', operator: 'notEquals', values: ['free'] }],
    },
    sql: (where) => `
      select o.outcome_type as "revenue.outcome_type", ${timeOf('o.occurred_at', 'day')} as "revenue.occurred_at.day",
             sum(o.revenue_usd) filter (where o.is_revenue) as "revenue.net_revenue",
             sum(-o.revenue_usd) filter (where o.outcome_type = 'refund') as "revenue.refunds",
             count(distinct o.order_id) filter (where o.outcome_type in ('purchase', 'upgrade')) as "revenue.orders",
             count(*) as "revenue.count"
      from core.fct_outcomes o left join core.dim_users u using (user_key)
      where ${where} and (o.plan <> 'free' or o.plan is null)
        and o.occurred_at >= '2025-01-01T00:00:00Z' and o.occurred_at <= '2025-12-31T23:59:59.999Z' group by 1, 2`,
  },
  {
    name: 'the paying segment by country',
    query: { measures: ['user_value.count', 'user_value.total_revenue'], dimensions: ['user_value.country'], segments: ['user_value.paying'] },
    sql: (where) => `
      select u.country as "user_value.country", count(*) as "user_value.count", sum(r.revenue) as "user_value.total_revenue"
      from core.dim_users u join ${USER_REVENUE} r using (user_key) where ${where} and r.revenue > 0 group by 1`,
  },
  {
    name: 'cost to serve and margin by first device, for users born from 1990',
    query: {
      measures: ['user_value.total_cost_to_serve', 'user_value.cost_per_user', 'user_value.gross_margin'],
      dimensions: ['user_value.first_device_type'],
      filters: [{ member: 'user_value.birth_year', operator: 'gte', values: ['1990'] }],
    },
    sql: (where) => `
      select u.first_device_type as "user_value.first_device_type", sum(c.cost) as "user_value.total_cost_to_serve",
             sum(c.cost) / count(*) as "user_value.cost_per_user", sum(r.revenue) - sum(c.cost) as "user_value.gross_margin"
      from core.dim_users u left join ${USER_REVENUE} r using (user_key) left join ${USER_COST} c using (user_key)
      where ${where} and u.birth_year >= 1990 group by 1`,
  },
  {
    name: 'cost to serve by cost type and month',
    query: {
      measures: ['service_costs.cost_to_serve', 'service_costs.served_users'],
      dimensions: ['service_costs.cost_type'],
      timeDimensions: [{ dimension: 'service_costs.period_start', granularity: 'month' }],
    },
    sql: (where) => `
      select c.cost_type as "service_costs.cost_type", ${timeOf('c.period_start::timestamptz', 'month')} as "service_costs.period_start.month",
             sum(c.cost_usd) as "service_costs.cost_to_serve", count(distinct c.user_key) as "service_costs.served_users"
      from core.fct_costs c left join core.dim_users u using (user_key) where ${where} group by 1, 2`,
  },
];

describe('REST through @cubejs-client/core equals hand-written SQL', () => {
  for (const caller of CALLERS) {
    describe(caller.name, () => {
      for (const testCase of CASES) {
        it(testCase.name, async () => {
          const [result, expected] = await Promise.all([api.rest(caller.token()).load(testCase.query as never), api.sql(testCase.sql(caller.where))]);
          expect(expected.length, 'the case should select some rows').toBeGreaterThan(0);
          close(normalize(result.tablePivot() as never), normalize(expected));
        });
      }
    });
  }
});

describe('GraphQL through graphql-request equals hand-written SQL', () => {
  it('activity by event and month for the CA analyst', async () => {
    const answer = await api.graphql(analystCA).request<{ cube: { user_activity: Record<string, any> }[] }>(gql`
      {
        cube(where: { user_activity: { occurred_at: { inDateRange: ["2025-01-01", "2025-06-30"] } } }) {
          user_activity { count active_users event occurred_at { month } }
        }
      }`);
    const rows = answer.cube.map(({ user_activity: r }) => ({
      'user_activity.event': r.event,
      'user_activity.occurred_at.month': r.occurred_at.month,
      'user_activity.count': r.count,
      'user_activity.active_users': r.active_users,
    }));
    const expected = await api.sql(`
      select e.event as "user_activity.event", to_char(date_trunc('month', e.occurred_at at time zone 'UTC'), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "user_activity.occurred_at.month",
             count(*) as "user_activity.count", count(distinct e.user_key) as "user_activity.active_users"
      from core.fct_events e join core.dim_users u using (user_key)
      where u.region = 'CA' and e.occurred_at >= '2025-01-01T00:00:00Z' and e.occurred_at <= '2025-06-30T23:59:59.999Z' group by 1, 2`);
    expect(expected.length).toBeGreaterThan(0);
    close(normalize(rows), normalize(expected));
  });

  it('revenue by outcome type with a filter, for the admin', async () => {
    const answer = await api.graphql(admin).request<{ cube: { revenue: Record<string, any> }[] }>(gql`
      {
        cube(where: { revenue: { outcome_type: { in: ["purchase", "refund", "upgrade"] } } }) {
          revenue { net_revenue refunds count outcome_type }
        }
      }`);
    const rows = answer.cube.map(({ revenue: r }) => ({ 'revenue.outcome_type': r.outcome_type, 'revenue.net_revenue': r.net_revenue, 'revenue.refunds': r.refunds, 'revenue.count': r.count }));
    const expected = await api.sql(`
      select o.outcome_type as "revenue.outcome_type", sum(o.revenue_usd) filter (where o.is_revenue) as "revenue.net_revenue",
             sum(-o.revenue_usd) filter (where o.outcome_type = 'refund') as "revenue.refunds", count(*) as "revenue.count"
      from core.fct_outcomes o where o.outcome_type in ('purchase', 'refund', 'upgrade') group by 1`);
    expect(expected.length).toBe(3);
    close(normalize(rows), normalize(expected));
  });

  it('users and ARPU by plan for the CA analyst', async () => {
    const answer = await api.graphql(analystCA).request<{ cube: { user_value: Record<string, any> }[] }>(gql`
      { cube { user_value { count arpu plan } } }`);
    const rows = answer.cube.map(({ user_value: r }) => ({ 'user_value.plan': r.plan, 'user_value.count': r.count, 'user_value.arpu': r.arpu }));
    const expected = await api.sql(`
      select u.plan as "user_value.plan", count(*) as "user_value.count", sum(r.revenue) / count(*) as "user_value.arpu"
      from core.dim_users u left join ${USER_REVENUE} r using (user_key) where u.region = 'CA' group by 1`);
    close(normalize(rows), normalize(expected));
  });
});
