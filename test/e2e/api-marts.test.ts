/**
 * The segment value views through the real API (gateway + Cube, as seglayer_api):
 * an admin reads each of segment_value, segment_daily, cohort_retention,
 * funnel_steps, segment_paths and segment_validation, and the answers equal the
 * marts read with SQL; every member is titled and described; region-scoped roles
 * (analyst, viewer) neither see nor query them, since the marts aggregate every
 * region and the region row filter cannot apply to them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall } from '../support/api-call.ts';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';

const VIEWS = ['segment_value', 'segment_daily', 'cohort_retention', 'funnel_steps', 'segment_paths', 'segment_validation'];

let api: ApiFixture;
let admin: string;

beforeAll(async () => {
  api = await startApiFixture({ users: 400 });
  admin = await api.token({ role: 'admin' });
});
afterAll(() => api?.close());

const load = async (token: string, query: unknown) => apiCall(api.server.url, 'GET', `/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify(query))}`, { token });

describe('segment value views', () => {
  it('are in the admin meta, every member titled and described', async () => {
    const meta = await api.rest(admin).meta();
    for (const view of VIEWS) {
      const cube = meta.cubes.find((c) => c.name === view);
      expect(cube, view).toBeDefined();
      expect(cube!.title, view).toBeTruthy();
      expect((cube as { description?: string }).description, view).toBeTruthy();
      for (const member of [...cube!.measures, ...cube!.dimensions]) {
        expect(member.title, member.name).toBeTruthy();
        expect((member as { description?: string }).description, member.name).toBeTruthy();
      }
    }
  });

  it('segment_value answers what marts.segment_value holds', async () => {
    const answer = await load(admin, {
      dimensions: ['segment_value.definition', 'segment_value.segment', 'segment_value.n', 'segment_value.value', 'segment_value.ci_lower', 'segment_value.lift'],
      filters: [{ member: 'segment_value.metric', operator: 'equals', values: ['revenue_per_user'] }],
      order: { 'segment_value.definition': 'asc', 'segment_value.segment': 'asc' },
      limit: 1000,
    });
    expect(answer.status, answer.text).toBe(200);
    const rows = await api.sql<{ definition: string; segment: string; n: number; value: number }>(
      `select definition, segment, n::int, value from marts.segment_value where metric = 'revenue_per_user' order by definition, segment`);
    expect(rows.length).toBeGreaterThan(3);
    expect(answer.body.data.map((r: Record<string, string>) => [r['segment_value.definition'], r['segment_value.segment'], Number(r['segment_value.n']), Number(r['segment_value.value'])]))
      .toEqual(rows.map((r) => [r.definition, r.segment, r.n, expect.closeTo(r.value, 9)]));
  });

  it('cohort_retention gives the monthly purchase heatmap of all users', async () => {
    const answer = await load(admin, {
      measures: ['cohort_retention.cohort_users', 'cohort_retention.active_users', 'cohort_retention.retention_rate'],
      dimensions: ['cohort_retention.period_number'],
      timeDimensions: [{ dimension: 'cohort_retention.cohort_start', granularity: 'month' }],
      filters: [
        { member: 'cohort_retention.cohort_grain', operator: 'equals', values: ['month'] },
        { member: 'cohort_retention.activity', operator: 'equals', values: ['purchase'] },
        { member: 'cohort_retention.segment_as_of', operator: 'equals', values: ['all'] },
      ],
      order: [['cohort_retention.cohort_start', 'asc'], ['cohort_retention.period_number', 'asc']],
      limit: 5000,
    });
    expect(answer.status, answer.text).toBe(200);
    const rows = await api.sql<{ cohort_users: number; active_users: number }>(`
      select cohort_users::int, active_users::int from marts.cohort_retention
      where cohort_grain = 'month' and activity = 'purchase' and segment_as_of = 'all' order by cohort_start, period_number`);
    expect(rows.length).toBeGreaterThan(10);
    expect(answer.body.data.map((r: Record<string, string>) => [Number(r['cohort_retention.cohort_users']), Number(r['cohort_retention.active_users'])]))
      .toEqual(rows.map((r) => [r.cohort_users, r.active_users]));
  });

  it('segment_daily, funnel_steps, segment_paths and segment_validation answer the mart rows', async () => {
    const daily = await load(admin, {
      measures: ['segment_daily.members', 'segment_daily.revenue'],
      timeDimensions: [{ dimension: 'segment_daily.day', granularity: 'month' }],
      filters: [{ member: 'segment_daily.definition', operator: 'equals', values: ['all'] }],
      order: { 'segment_daily.day': 'asc' },
    });
    expect(daily.status, daily.text).toBe(200);
    const [total] = await api.sql<{ revenue: string }>(`select sum(revenue_usd)::text as revenue from marts.segment_daily where definition = 'all'`);
    expect(daily.body.data.reduce((a: number, r: Record<string, string>) => a + Number(r['segment_daily.revenue']), 0)).toBeCloseTo(Number(total!.revenue), 4);

    const funnel = await load(admin, {
      dimensions: ['funnel_steps.step_number', 'funnel_steps.users'],
      filters: [{ member: 'funnel_steps.funnel', operator: 'equals', values: ['onboarding'] }, { member: 'funnel_steps.segment', operator: 'equals', values: ['all'] }],
      order: { 'funnel_steps.step_number': 'asc' },
    });
    expect(funnel.status, funnel.text).toBe(200);
    const steps = await api.sql<{ users: number }>(`select users::int from marts.funnel_steps where funnel = 'onboarding' and segment = 'all' order by step_number`);
    expect(funnel.body.data.map((r: Record<string, string>) => Number(r['funnel_steps.users']))).toEqual(steps.map((s) => s.users));

    const paths = await load(admin, { measures: ['segment_paths.count'], filters: [{ member: 'segment_paths.outcome', operator: 'equals', values: ['upgrade'] }] });
    const [paths_] = await api.sql<{ count: number }>(`select count(*)::int as count from marts.segment_paths where outcome = 'upgrade'`);
    expect(Number(paths.body.data[0]['segment_paths.count'])).toBe(paths_!.count);

    const validation = await load(admin, { dimensions: ['segment_validation.definition', 'segment_validation.verdict'], order: { 'segment_validation.definition': 'asc' } });
    const verdicts = await api.sql<{ definition: string; verdict: string }>(`select definition, verdict from marts.segment_validation order by definition`);
    expect(verdicts.length).toBeGreaterThan(0);
    expect(validation.body.data.map((r: Record<string, string>) => [r['segment_validation.definition'], r['segment_validation.verdict']])).toEqual(verdicts.map((v) => [v.definition, v.verdict]));
  });

  it('are hidden from region-scoped roles, in meta and in queries', async () => {
    for (const role of ['analyst', 'viewer']) {
      const token = await api.token({ role, region: 'CA' });
      const meta = await api.rest(token).meta();
      expect(meta.cubes.map((c) => c.name).filter((n) => VIEWS.includes(n)), role).toEqual([]);
      const refused = await load(token, { measures: ['segment_value.count'] });
      expect(refused.status, role).toBe(403);
      expect(refused.text).toMatch(/may not use segment_value\.count/);
    }
  });
});
