/**
 * The gateway's answer cache (src/serve/answer-cache.ts) on the real API: a repeated
 * query is answered from it (header x-seglayer-answer: cache) with the same body Cube
 * gave; an answer is never handed to a caller with other claims (another region, another
 * role, one more claim), and every governance check still runs first (a member hidden
 * from a role is refused even when another role's answer is kept); a new build (a new
 * successful model run) and rebuilt rollups each give a new key, so the next answer
 * comes from Cube again. Numbers are checked against SQL written here on core.dim_users.
 * SEGLAYER_API_FRESHNESS_MS=0: the build is asked on every request, so nothing here waits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runModels } from '../../src/models/model-runner.ts';
import { ANSWER_SOURCE_HEADER } from '../../src/serve/gateway.ts';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';
import { loadTestProject } from '../support/test-project.ts';

let api: ApiFixture;
const QUERY = { measures: ['user_value.count', 'user_value.total_revenue'], dimensions: ['user_value.region'], order: { 'user_value.region': 'asc' } };

async function load(token: string, query: Record<string, unknown> = QUERY): Promise<{ status: number; source: string | null; body: any }> {
  const response = await fetch(`${api.server.apiUrl}/load?query=${encodeURIComponent(JSON.stringify(query))}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, source: response.headers.get(ANSWER_SOURCE_HEADER), body: await response.json() };
}

/** Users and revenue by region, by hand, for the regions given (all when none). */
async function expected(regions?: string[]): Promise<Map<string, number>> {
  const rows = await api.sql<{ region: string; users: string }>(
    `select region, count(*) as users from core.dim_users ${regions ? 'where region = any(?)' : ''} group by region`, regions ? [regions] : []);
  return new Map(rows.map((r) => [r.region, Number(r.users)]));
}
const counted = (body: any) => new Map((body.data as any[]).map((row) => [row['user_value.region'], Number(row['user_value.count'])]));

beforeAll(async () => {
  api = await startApiFixture({ users: 300, env: { SEGLAYER_API_FRESHNESS_MS: '0' } });
}, 300_000);
afterAll(async () => api?.close());

describe('answer cache', () => {
  it('answers a repeated query from the cache, with the body Cube gave, for a token with the same claims', async () => {
    // Cube builds the rollup this query reads on its first use (the scheduler is off here): a
    // new rollup table is a new key, so the first use is not what this test times.
    await load(await api.token({ role: 'admin' }));
    const claims = { role: 'analyst', region: 'CA' };
    const first = await load(await api.token(claims));
    expect(first.status).toBe(200);
    expect(first.source).toBe('cube');
    expect(counted(first.body)).toEqual(await expected(['CA']));
    const again = await load(await api.token(claims));
    expect(again.source).toBe('cache');
    expect(again.body).toEqual(first.body);
    // Another token for the same claims (minted later, other expiry) finds it too.
    const otherToken = await load(await api.token(claims, '2h'));
    expect(otherToken.source).toBe('cache');
    expect(otherToken.body).toEqual(first.body);
  });

  it('never hands an answer to other claims: another region, another role, one more claim', async () => {
    await load(await api.token({ role: 'analyst', region: 'CA' })); // kept for analyst CA
    const ny = await load(await api.token({ role: 'analyst', region: 'NY' }));
    expect(ny.source).toBe('cube');
    expect(counted(ny.body)).toEqual(await expected(['NY']));
    const viewer = await load(await api.token({ role: 'viewer', region: 'CA' }));
    expect(viewer.source).toBe('cube');
    expect(counted(viewer.body)).toEqual(await expected(['CA']));
    const more = await load(await api.token({ role: 'analyst', region: 'CA', team: 'growth' }));
    expect(more.source).toBe('cube');
    const admin = await load(await api.token({ role: 'admin' }));
    expect(admin.source).toBe('cube');
    expect(counted(admin.body)).toEqual(await expected());
    expect(counted(admin.body).size).toBeGreaterThan(1);
  });

  it('runs the governance checks before looking: a member hidden from a role is refused though an admin\'s answer is kept', async () => {
    const withCost = { measures: ['user_value.total_cost_to_serve'], dimensions: ['user_value.region'] };
    const admin = await load(await api.token({ role: 'admin' }), withCost);
    expect(admin.status).toBe(200);
    expect((await load(await api.token({ role: 'admin' }), withCost)).source).toBe('cache');
    const viewer = await load(await api.token({ role: 'viewer', region: 'CA' }), withCost);
    expect(viewer.status).toBe(403);
    expect(viewer.body.data).toBeUndefined();
    // A token without the row-filter claim is refused as ever, though the admin's answer is kept.
    const noRegion = await load(await api.token({ role: 'analyst' }), withCost);
    expect(noRegion.status).toBe(403);
  });

  it('keys on the build: after a new successful model run the next answer comes from Cube', async () => {
    const token = await api.token({ role: 'analyst', region: 'CA' });
    await load(token);
    expect((await load(token)).source).toBe('cache');
    const project = await loadTestProject();
    const build = await runModels(api.db.knex, api.db.url, project.models, { select: ['core.fx_rates'] });
    expect(build.ok).toBe(true);
    const afterBuild = await load(token);
    expect(afterBuild.source).toBe('cube');
    expect(counted(afterBuild.body)).toEqual(await expected(['CA']));
    expect((await load(token)).source).toBe('cache');
  });

  it('keys on the rollups: once Cube has built them the next answer comes from Cube', async () => {
    const token = await api.token({ role: 'analyst', region: 'CA' });
    await load(token);
    expect((await load(token)).source).toBe('cache');
    await api.server.cube.refreshPreAggregations();
    const afterRollups = await load(token);
    expect(afterRollups.source).toBe('cube');
    expect(counted(afterRollups.body)).toEqual(await expected(['CA']));
  });
});
