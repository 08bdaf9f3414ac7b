/**
 * Claims are configured, not hard-coded: with SEGLAYER_GOVERNANCE_FILE pointing at a
 * temporary policy whose role claim is `access_role` and whose row filter is claim
 * `country` → dimension `country`, both enforcement points (the gateway and cube.js's
 * queryRewrite) follow it: a `country` token sees exactly its country's rows on all four
 * views (compared with SQL), over REST and GraphQL, and a `region` claim alone — or the old
 * `role` claim — no longer opens anything.
 *
 * Its own file: cube.js reads the policy once per process, and vitest gives each file a
 * fresh worker.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';

const POLICY = `# test policy: rows by country, roles in the access_role claim
role_claim: access_role
default_role: reader
row_filters:
  - claim: country
    dimension: country
roles:
  boss:
    all_rows: true
  reader:
    hidden_members: ["*.email", "*.user_id"]
`;

let api: ApiFixture;
let country: string;
let otherCountries: string[];
let reader: string;
let readerClaims: Record<string, unknown>;

beforeAll(async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'seglayer-governance-')), 'governance-country.yml');
  writeFileSync(file, POLICY);
  api = await startApiFixture({ users: 100, env: { SEGLAYER_GOVERNANCE_FILE: file } });
  const countries = await api.sql<{ country: string; n: string }>('select country, count(*) as n from core.dim_users where country is not null group by 1 order by 2 desc, 1');
  expect(countries.length, 'the demo data should span several countries').toBeGreaterThanOrEqual(3);
  country = countries[0]!.country;
  otherCountries = countries.slice(1).map((c) => c.country);
  readerClaims = { access_role: 'reader', country };
  reader = await api.token(readerClaims);
});
afterAll(() => api?.close());

const count = async (text: string, bindings: unknown[] = []) => Number((await api.sql<{ n: string | null }>(text, bindings))[0]!.n ?? 0);

describe('a country claim restricts rows on every view', () => {
  const CASES = [
    { measure: 'user_value.count', sql: 'select count(*) as n from core.dim_users u where u.country = ?' },
    { measure: 'user_activity.count', sql: 'select count(*) as n from core.fct_events e join core.dim_users u using (user_key) where u.country = ?' },
    { measure: 'revenue.count', sql: 'select count(*) as n from core.fct_outcomes o join core.dim_users u using (user_key) where u.country = ?' },
    { measure: 'service_costs.cost_to_serve', sql: 'select sum(c.cost_usd) as n from core.fct_costs c join core.dim_users u using (user_key) where u.country = ?' },
  ];

  it.for(CASES)('$measure equals SQL for the claimed country, and is less than the whole', async ({ measure, sql }) => {
    const expected = await count(sql, [country]);
    const all = await count(sql.replace('u.country = ?', 'true'));
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(all);
    const rows = (await api.rest(reader).load({ measures: [measure] })).rawData();
    expect(Number(rows[0]![measure])).toBeCloseTo(expected, 6);
    // The unrestricted role sees everything.
    const boss = await api.token({ access_role: 'boss' });
    expect(Number((await api.rest(boss).load({ measures: [measure] })).rawData()[0]![measure])).toBeCloseTo(all, 6);
  });

  it('rows by country and region carry only the claimed country', async () => {
    const rows = (await api.rest(reader).load({ measures: ['user_value.count'], dimensions: ['user_value.country', 'user_value.region'] })).rawData() as Record<string, unknown>[];
    expect(new Set(rows.map((r) => r['user_value.country']))).toEqual(new Set([country]));
    const expected = await api.sql<{ region: string; n: string }>('select region, count(*) as n from core.dim_users where country = ? group by 1 order by 1', [country]);
    expect(rows.map((r) => [r['user_value.region'], Number(r['user_value.count'])]).sort()).toEqual(expected.map((r) => [r.region, Number(r.n)]).sort());
  });

  it('a filter on another country returns nothing', async () => {
    const rows = (await api.rest(reader).load({ measures: ['user_value.count'], dimensions: ['user_value.country'], filters: [{ member: 'user_value.country', operator: 'equals', values: [otherCountries[0]!] }] })).rawData();
    expect(rows).toEqual([]);
  });

  it('the plan binds the claimed country as a parameter', async () => {
    const plan = await api.server.cube.planOf({ measures: ['revenue.count'] }, readerClaims);
    expect(plan.params).toEqual([country]);
  });

  it('GraphQL follows the same policy', async () => {
    const answer = await api.graphql(reader).request<{ cube: { user_activity: { count: number; country: string } }[] }>('{ cube { user_activity { count country } } }');
    expect(answer.cube.map((r) => r.user_activity.country)).toEqual([country]);
    expect(answer.cube[0]!.user_activity.count).toBe(await count('select count(*) as n from core.fct_events e join core.dim_users u using (user_key) where u.country = ?', [country]));
  });

  it('a list of countries sees exactly those', async () => {
    const two = [country, otherCountries[0]!];
    const token = await api.token({ access_role: 'reader', country: two });
    const rows = (await api.rest(token).load({ measures: ['user_value.count'], dimensions: ['user_value.country'] })).rawData() as Record<string, unknown>[];
    expect(rows.map((r) => r['user_value.country']).sort()).toEqual([...two].sort());
    const total = rows.reduce((sum, r) => sum + Number(r['user_value.count']), 0);
    expect(total).toBe(await count('select count(*) as n from core.dim_users where country in (?, ?)', two));
  });
});

describe('claims the file does not name open nothing', () => {
  const expect403 = async (claims: Record<string, unknown>, message: RegExp) => {
    const token = await api.token(claims);
    for (const [path, init] of [
      [`/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify({ measures: ['user_value.count'] }))}`, {}],
      ['/cubejs-api/v1/meta', {}],
      ['/cubejs-api/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ cube { user_value { count } } }' }) }],
    ] as const) {
      const response = await fetch(`${api.server.url}${path}`, { ...init, headers: { ...('headers' in init ? init.headers : {}), authorization: `Bearer ${token}` } });
      const text = await response.text();
      expect(response.status, `${path}: ${text}`).toBe(403);
      expect(JSON.parse(text).error).toMatch(message);
    }
  };

  it('a region claim alone is refused for a non-admin role', () =>
    expect403({ access_role: 'reader', region: 'CA' }, /role "reader" must carry one of the claims "country"/));

  it('the roles and role claim of the default governance.yml mean nothing here', async () => {
    // `role: admin` is not this file's role claim: the token is a default reader without a country.
    await expect403({ role: 'admin' }, /role "reader" must carry one of the claims "country"/);
    await expect403({ access_role: 'admin', country }, /unknown role in claim "access_role"; known roles: boss, reader/);
  });

  it('members hidden by this file are refused, and others are not', async () => {
    const email = await fetch(`${api.server.apiUrl}/load?query=${encodeURIComponent(JSON.stringify({ measures: ['user_value.count'], dimensions: ['user_value.email'] }))}`, { headers: { authorization: `Bearer ${reader}` } });
    expect(email.status).toBe(403);
    expect(((await email.json()) as { error: string }).error).toBe('role "reader" may not use user_value.email');
    // The default file hides cost members from viewers; this one hides nothing of the kind.
    const cost = await api.rest(reader).load({ measures: ['user_value.total_cost_to_serve'] });
    expect(Number(cost.rawData()[0]!['user_value.total_cost_to_serve'])).toBeGreaterThan(0);
  });
});
