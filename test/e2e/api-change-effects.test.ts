/**
 * The Cube view change_effects through the real gateway and Cube server, as the
 * least-privilege role seglayer_api: an admin reads what marts.change_effects
 * holds (checked against SQL on the same table), every member titled and
 * described; a region-scoped token neither sees the view in meta nor queries it
 * (the effects aggregate every region, so the region row filter cannot apply).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall } from '../support/api-call.ts';
import { type ApiFixture, startApiFixture } from '../support/api-fixture.ts';

let api: ApiFixture;

beforeAll(async () => {
  // The fixture builds as `build` does, change effects included.
  api = await startApiFixture({ users: 400 });
}, 600_000);
afterAll(() => api?.close());

const load = async (token: string, query: unknown) => apiCall(api.server.url, 'GET', `/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify(query))}`, { token });

describe('change_effects view', () => {
  it('serves each change × metric as marts.change_effects holds it, for an admin', async () => {
    const admin = await api.token({ role: 'admin' });
    const expected = await api.sql<{ metric: string; exposed_n: number; did: number | null; did_ci_lower: number | null; did_p_value: number | null; parallel_trends: string }>(
      `select metric, exposed_n, did, did_ci_lower, did_p_value, parallel_trends from marts.change_effects where change = 'mobile_share_sheet' order by metric`,
    );
    expect(expected.map((e) => e.metric)).toEqual(['reports_shared', 'shared_a_report']);
    expect(expected[0]!.exposed_n).toBeGreaterThan(0);
    const rows = (await api.rest(admin).load({
      dimensions: ['change_effects.metric', 'change_effects.exposed_n', 'change_effects.did', 'change_effects.did_ci_lower', 'change_effects.did_p_value', 'change_effects.parallel_trends'],
      filters: [{ member: 'change_effects.change', operator: 'equals', values: ['mobile_share_sheet'] }],
      order: [['change_effects.metric', 'asc']],
    })).rawData() as Record<string, unknown>[];
    const num = (v: unknown) => (v === null ? null : Number(v));
    expect(rows.map((r) => [r['change_effects.metric'], num(r['change_effects.exposed_n']), num(r['change_effects.did']), num(r['change_effects.did_ci_lower']), num(r['change_effects.did_p_value']), r['change_effects.parallel_trends']]))
      .toEqual(expected.map((e) => [e.metric, e.exposed_n, expect.closeTo(e.did ?? NaN, 9), expect.closeTo(e.did_ci_lower ?? NaN, 9), expect.closeTo(e.did_p_value ?? NaN, 9), e.parallel_trends]));
  });

  it('is in the admin meta with every member titled and described', async () => {
    const meta = await api.rest(await api.token({ role: 'admin' })).meta();
    const view = meta.cubes.find((c) => c.name === 'change_effects');
    expect(view?.title).toBeTruthy();
    expect((view as { description?: string }).description).toBeTruthy();
    for (const member of [...view!.measures, ...view!.dimensions]) {
      expect(member.title, member.name).toBeTruthy();
      expect((member as { description?: string }).description, member.name).toBeTruthy();
    }
  });

  it('is refused to a region-scoped token, and absent from its meta', async () => {
    for (const role of ['analyst', 'viewer']) {
      const token = await api.token({ role, region: 'Europe' });
      const meta = await api.rest(token).meta();
      expect(meta.cubes.map((c) => c.name), role).not.toContain('change_effects');
      const refused = await load(token, { measures: ['change_effects.count'] });
      expect(refused.status, role).toBe(403);
      expect(refused.text).toMatch(/may not use change_effects\.count/);
    }
  });
});
