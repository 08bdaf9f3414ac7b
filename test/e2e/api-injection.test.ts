/**
 * SQL injection, tried as an attacker with a valid low-privilege token would (issue 10).
 *
 * Cube 0.33 pastes some query values into SQL text (the time zone into `AT TIME ZONE '…'`).
 * A canary is planted that the API's database role could reach if any hostile value ran
 * as SQL: a table it may read and delete from, and a function it may call that records
 * each call. Every hostile value goes into every query field, over REST GET and POST,
 * /v1/dry-run, and GraphQL written inline and passed as variables. Each must be refused
 * with a 4xx (or, in a filter value, bound and compared as plain text), and at the end the
 * canary table must be whole and the canary function never called.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiCall, type ApiAnswer } from '../support/api-call.ts';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';

let api: ApiFixture;
let admin: string;
let viewer: string;
let analyst: string;
let caUsers: number;

const CANARY_ROWS = 3;

beforeAll(async () => {
  api = await startApiFixture({ users: 200 });
  admin = await api.token({ role: 'admin' });
  viewer = await api.token({ role: 'viewer', region: 'CA' });
  analyst = await api.token({ role: 'analyst', region: 'CA' });
  const role = api.server.databaseRole.name;
  // What an injection would reach for: granted to the API role so that only the query
  // checks, not the role's privileges, stand between a hostile value and the canary.
  await api.sql(`create schema canary;
    create table canary.secrets (id int primary key, secret text not null);
    insert into canary.secrets select g, 'secret ' || g from generate_series(1, ${CANARY_ROWS}) g;
    create table canary.calls (called_at timestamptz not null default now(), note text);
    create function canary.touch() returns int language sql security definer as $$ insert into canary.calls (note) values ('called'); select 1 $$;
    grant usage on schema canary to ${role};
    grant select, delete on canary.secrets to ${role};
    grant execute on function canary.touch() to ${role};`);
  caUsers = Number((await api.sql<{ n: string }>("select count(*) as n from core.dim_users where region = 'CA'"))[0]!.n);
});
afterAll(() => api?.close());

/** Values that would run SQL if pasted into a quoted literal, an identifier, a number or a keyword position. */
const PAYLOADS = [
  "UTC') + (select canary.touch()) * interval '1 day' + (interval '0 day",
  "UTC'; delete from canary.secrets; --",
  "x' || (select canary.touch())::text || '",
  "0) or canary.touch() = 1 --",
  '1; select canary.touch()',
  'asc, (select canary.touch())',
  '$$; select canary.touch(); $$',
  '"users"."email" --',
  "UTC\u2019) + (select canary.touch()) * interval '1 day' --",
  "day', (select canary.touch())::text) --",
  '2024-01-01\' or canary.touch() = 1 --',
];

type Answer = ApiAnswer;
const call = (method: string, path: string, token: string, json?: unknown) => apiCall(api.server.url, method, path, { token, json });
const restGet = (route: string, token: string, query: unknown) => call('GET', `/cubejs-api/v1/${route}?query=${encodeURIComponent(JSON.stringify(query))}`, token);
const restPost = (route: string, token: string, query: unknown) => call('POST', `/cubejs-api/v1/${route}`, token, { query });
const graphql = (token: string, query: string, variables?: Record<string, unknown>) => call('POST', '/cubejs-api/graphql', token, { query, variables });

/** A refusal: 4xx, a message, no stack, no rows. */
function expectRefused(answer: Answer, label: string): void {
  expect(answer.status, `${label}: ${answer.text}`).toBeGreaterThanOrEqual(400);
  expect(answer.status, `${label}: ${answer.text}`).toBeLessThan(500);
  expect(answer.text, label).not.toMatch(/"stack"|node_modules|\n\s+at /);
  expect(answer.body?.data ?? null, label).toBeNull();
}

/** Every field of a REST query, with the payload in it. */
const REST_FIELDS: [string, (p: string) => Record<string, unknown>][] = [
  ['timezone', (p) => ({ measures: ['user_value.count'], timezone: p })],
  ['granularity', (p) => ({ measures: ['user_value.count'], timeDimensions: [{ dimension: 'user_value.signed_up_at', granularity: p }] })],
  ['dimension granularity suffix', (p) => ({ measures: ['user_value.count'], dimensions: [`user_value.signed_up_at.${p}`] })],
  ['dateRange (string)', (p) => ({ measures: ['user_value.count'], timeDimensions: [{ dimension: 'user_value.signed_up_at', dateRange: p }] })],
  ['dateRange (pair)', (p) => ({ measures: ['user_value.count'], timeDimensions: [{ dimension: 'user_value.signed_up_at', dateRange: ['2020-01-01', p] }] })],
  ['compareDateRange', (p) => ({ measures: ['user_value.count'], timeDimensions: [{ dimension: 'user_value.signed_up_at', compareDateRange: [p, 'last year'] }] })],
  ['order direction', (p) => ({ measures: ['user_value.count'], order: { 'user_value.count': p } })],
  ['order member', (p) => ({ measures: ['user_value.count'], order: [[p, 'asc']] })],
  ['limit', (p) => ({ measures: ['user_value.count'], limit: p })],
  ['offset', (p) => ({ measures: ['user_value.count'], offset: p })],
  ['measure', (p) => ({ measures: [p] })],
  ['dimension', (p) => ({ measures: ['user_value.count'], dimensions: [p] })],
  ['segment', (p) => ({ measures: ['user_value.count'], segments: [p] })],
  ['filter member', (p) => ({ measures: ['user_value.count'], filters: [{ member: p, operator: 'set' }] })],
  ['filter operator', (p) => ({ measures: ['user_value.count'], filters: [{ member: 'user_value.region', operator: p, values: ['CA'] }] })],
  ['renewQuery', (p) => ({ measures: ['user_value.count'], renewQuery: p })],
];

describe('the reported reproduction', () => {
  it('GraphQL timezone as a variable is refused with a 400 and runs nothing', async () => {
    const answer = await graphql(viewer, 'query($tz:String){cube(timezone:$tz){user_value{count signed_up_at{day}}}}', {
      tz: "UTC') - (\"users\".signed_up_at::timestamptz AT TIME ZONE 'UTC') + timestamp 'epoch' + (SELECT count(*) FROM core.dim_users WHERE region='TX') * interval '1 day' + (interval '0 day",
    });
    expectRefused(answer, 'reproduction');
    expect(answer.status).toBe(400);
    expect(answer.body.errors[0].message).toMatch(/timezone: .* is not one of the allowed time zones \(UTC, /);
  });

  it('the same query with an allowed time zone answers, restricted to the claim', async () => {
    const answer = await graphql(viewer, 'query($tz:String){cube(timezone:$tz){user_value{count}}}', { tz: 'Europe/Berlin' });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body.data.cube[0].user_value.count).toBe(caUsers);
  });
});

describe.each([
  ['viewer', () => viewer],
  ['admin', () => admin],
])('every REST field, as %s', (role, token) => {
  it.for(REST_FIELDS.map(([name]) => name))('%s: refused on GET and POST /v1/load and /v1/dry-run', async (name) => {
    const build = REST_FIELDS.find(([field]) => field === name)![1];
    for (const payload of PAYLOADS) {
      const query = build(payload);
      for (const answer of [
        await restGet('load', token(), query),
        await restPost('load', token(), query),
        await restGet('dry-run', token(), query),
        await restPost('dry-run', token(), query),
      ]) expectRefused(answer, `${role} ${name} ${payload}`);
    }
  });
});

describe('GraphQL, inline and as variables', () => {
  const string = (value: string) => JSON.stringify(value);
  const INLINE: [string, (p: string) => string][] = [
    ['timezone', (p) => `{ cube(timezone: ${string(p)}) { user_value { count } } }`],
    ['granularity field', (p) => `{ cube { user_value { count signed_up_at { ${p.replace(/[^A-Za-z_]/g, '_')} } } } }`],
    ['orderBy direction', (p) => `{ cube(orderBy: { user_value: { count: ${p.replace(/[^A-Za-z_]/g, '_')} } }) { user_value { count } } }`],
    ['where member', (p) => `{ cube(where: { user_value: { ${p.replace(/[^A-Za-z_]/g, '_')}: { equals: "CA" } } }) { user_value { count } } }`],
    ['cube member', (p) => `{ cube { user_value { ${p.replace(/[^A-Za-z_]/g, '_')} } } }`],
    ['limit', (p) => `{ cube(limit: ${string(p)}) { user_value { count } } }`],
  ];
  const VARIABLES: [string, string, (p: string) => Record<string, unknown>][] = [
    ['timezone', 'query($v: String) { cube(timezone: $v) { user_value { count } } }', (p) => ({ v: p })],
    ['timezone by default', `query($v: String = ${JSON.stringify(PAYLOADS[0])}) { cube(timezone: $v) { user_value { count } } }`, () => ({})],
    ['limit', 'query($v: Int) { cube(limit: $v) { user_value { count } } }', (p) => ({ v: p })],
    ['offset', 'query($v: Int) { cube(offset: $v) { user_value { count } } }', (p) => ({ v: p })],
    ['where', 'query($v: RootWhereInput) { cube(where: $v) { user_value { count } } }', (p) => ({ v: { user_value: { [p]: { equals: 'CA' } } } })],
    ['orderBy', 'query($v: RootOrderByInput) { cube(orderBy: $v) { user_value { count } } }', (p) => ({ v: { user_value: { count: p } } })],
  ];

  it.for(INLINE.map(([name]) => name))('inline %s: refused', async (name) => {
    const build = INLINE.find(([field]) => field === name)![1];
    for (const payload of PAYLOADS) expectRefused(await graphql(viewer, build(payload)), `inline ${name} ${payload}`);
  });

  it.for(VARIABLES.map(([name]) => name))('variable %s: refused', async (name) => {
    const [, document, build] = VARIABLES.find(([field]) => field === name)!;
    for (const payload of PAYLOADS) expectRefused(await graphql(viewer, document, build(payload)), `variable ${name} ${payload}`);
  });

  it('a timezone hidden in a fragment, or in a second aliased cube field, is found', async () => {
    const fragment = `query { ...F } fragment F on Query { cube(timezone: ${string(PAYLOADS[0]!)}) { user_value { count } } }`;
    expectRefused(await graphql(viewer, fragment), 'fragment');
    const aliased = `{ a: cube { user_value { count } } b: cube(timezone: ${string(PAYLOADS[1]!)}) { user_value { count } } }`;
    expectRefused(await graphql(viewer, aliased), 'alias');
  });
});

describe('filter values are data, not SQL', () => {
  it('hostile values are bound: REST and GraphQL answer with the rows they match (none), and nothing runs', async () => {
    for (const payload of PAYLOADS) {
      const rest = await restPost('load', viewer, { measures: ['user_value.count'], filters: [{ member: 'user_value.city', operator: 'equals', values: [payload] }] });
      expect(rest.status, rest.text).toBe(200);
      expect(Number(rest.body.data[0]?.['user_value.count'] ?? 0)).toBe(0);
      const gql = await graphql(viewer, 'query($v: String) { cube(where: { user_value: { city: { equals: $v } } }) { user_value { count } } }', { v: payload });
      expect(gql.status, gql.text).toBe(200);
      expect(gql.body.data.cube.map((r: any) => r.user_value.count).reduce((a: number, b: number) => a + b, 0)).toBe(0);
    }
  });
});

describe('the canary', () => {
  // Runs last in this file (vitest runs describes in order).
  it('is whole, and its function was never called', async () => {
    const [secrets] = await api.sql<{ n: number }>('select count(*)::int as n from canary.secrets');
    const [calls] = await api.sql<{ n: number }>('select count(*)::int as n from canary.calls');
    expect(secrets!.n).toBe(CANARY_ROWS);
    expect(calls!.n).toBe(0);
    // The canary works: the API role can call it, so a 0 above means nothing called it.
    const role = api.server.databaseRole.name;
    await api.sql(`set role ${role}; select canary.touch(); reset role;`);
    const [after] = await api.sql<{ n: number }>('select count(*)::int as n from canary.calls');
    expect(after!.n).toBe(1);
    // And after all of it, the server still answers a good query correctly.
    const answer = await restGet('load', analyst, { measures: ['user_value.count'] });
    expect(Number(answer.body.data[0]['user_value.count'])).toBe(caUsers);
  });
});

describe('inside Cube (queryRewrite), without the gateway', () => {
  // The official Cube 1.x image runs cube.js without seglayer's gateway: its queryRewrite
  // alone must refuse the same values. planOf asks Cube directly, as the SQL API would.
  it.for(REST_FIELDS.map(([name]) => name))('%s: refused by queryRewrite', async (name) => {
    const build = REST_FIELDS.find(([field]) => field === name)![1];
    for (const payload of PAYLOADS) {
      const plan = await api.server.cube.planOf(build(payload), { role: 'viewer', region: 'CA' }).then((p) => p, () => undefined);
      if (plan === undefined) continue; // refused
      // Cube normalizes date ranges before queryRewrite sees them: a date it could read
      // from the hostile text reaches SQL only as a formatted timestamp, bound.
      expect(name, `${name} ${payload} was not refused`).toMatch(/^dateRange/);
      expect(plan.sql).not.toMatch(/canary/);
      for (const param of plan.params) expect(String(param)).toMatch(/^(CA|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z?)$/);
    }
  });

  it('a member expression (ad-hoc SQL as the SQL API would send it) is refused', async () => {
    await expect(api.server.cube.planOf({ measures: [{ expression: () => 'canary.touch()', cubeName: 'user_value', name: 'x' }] } as never, { role: 'admin' }))
      .rejects.toThrow(/measures\.0: must be a member name|Invalid query format/);
  });
});
