/**
 * What the API refuses, and how: every refusal is a 4xx with a clear JSON message
 * (`{ error }`, or GraphQL's `{ errors }`), no stack trace anywhere in the body, and the
 * server answers a good query right after it (checked after every test).
 *
 * Tokens: missing, expired, forged, `alg: none`, no `exp`, another algorithm, tampered.
 * Routes: Cube's system and job routes are not reachable; wrong methods are 405.
 * Bodies: malformed JSON, over the size limit, unknown keys, hostile member names.
 * Values: SQL in filter values is bound as parameters, never run.
 * Policy: members hidden from a role are 403 over REST and GraphQL and absent from
 * /v1/meta; unknown roles and missing row claims are 403; private cubes are unknown (400).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientError, gql } from 'graphql-request';
import { SignJWT } from 'jose';
import { apiCall, type ApiAnswer, type ApiCallOptions } from '../support/api-call.ts';
import { startApiFixture, TEST_API_SECRET, type ApiFixture } from '../support/api-fixture.ts';

let api: ApiFixture;
let admin: string;
let analyst: string;
let viewer: string;
let caUsers: number;

beforeAll(async () => {
  api = await startApiFixture({ users: 300 });
  admin = await api.token({ role: 'admin' });
  analyst = await api.token({ role: 'analyst', region: 'CA' });
  viewer = await api.token({ role: 'viewer', region: 'CA' });
  caUsers = Number((await api.sql<{ n: string }>("select count(*) as n from core.dim_users where region = 'CA'"))[0]!.n);
  expect(caUsers).toBeGreaterThan(0);
});
afterAll(() => api?.close());

// After every refusal, the same server still answers a good query correctly.
afterEach(async () => {
  const result = await api.rest(analyst).load({ measures: ['user_value.count'] });
  expect(Number(result.rawData()[0]!['user_value.count'])).toBe(caUsers);
});

// ---------------------------------------------------------------- helpers

type Answer = ApiAnswer;
const call = (method: string, path: string, options: ApiCallOptions = {}) => apiCall(api.server.url, method, path, options);
const load = (token: string | undefined, query: unknown) => call('POST', '/cubejs-api/v1/load', { token, json: { query } });
const loadGet = (token: string | undefined, query: unknown) => call('GET', `/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify(query))}`, { token });
const graphqlPost = (token: string | undefined, query: string) => call('POST', '/cubejs-api/graphql', { token, json: { query } });

/** No stack trace, file path or internals anywhere in a body. */
function expectNoStack(text: string): void {
  expect(text).not.toMatch(/"stack"/);
  expect(text).not.toMatch(/\n\s+at |\bat [\w.<>]+ \(/);
  expect(text).not.toMatch(/node_modules|\.[cm]?[jt]s:\d+/);
}
/** A refusal: this status, JSON `{ error }` matching `message`, nothing else leaking. */
function expectRefusal(answer: Answer, status: number, message: RegExp): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.contentType).toMatch(/application\/json/);
  expect(typeof answer.body?.error, answer.text).toBe('string');
  expect(answer.body.error).toMatch(message);
  expectNoStack(answer.text);
}
const GOOD_QUERY = { measures: ['user_value.count'] };

// ---------------------------------------------------------------- tokens

describe('tokens', () => {
  const key = (secret: string) => new TextEncoder().encode(secret);
  const now = () => Math.floor(Date.now() / 1000);
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  const CASES: { name: string; authorization: () => Promise<string | undefined>; message: RegExp }[] = [
    { name: 'missing Authorization header', authorization: async () => undefined, message: /missing Authorization header/ },
    { name: 'a header that holds no JWT', authorization: async () => 'Bearer not-a-token', message: /does not hold a JWT/ },
    {
      name: 'an expired token',
      authorization: async () => `Bearer ${await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now() - 7200).setExpirationTime(now() - 3600).sign(key(TEST_API_SECRET))}`,
      message: /expired/,
    },
    {
      name: 'a token signed with another secret',
      authorization: async () => `Bearer ${await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key('another-secret-another-secret-0123456789'))}`,
      message: /signature does not verify/,
    },
    {
      name: 'a viewer token whose payload was changed to admin',
      authorization: async () => {
        const [header, , signature] = (await api.token({ role: 'viewer', region: 'CA' })).split('.');
        return `Bearer ${header}.${b64({ role: 'admin', exp: now() + 3600 })}.${signature}`;
      },
      message: /signature does not verify/,
    },
    {
      name: 'an alg: none token',
      authorization: async () => `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64({ role: 'admin', exp: now() + 3600 })}.`,
      message: /algorithm not accepted|malformed/,
    },
    {
      name: 'a token without exp',
      authorization: async () => `Bearer ${await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(key(TEST_API_SECRET))}`,
      message: /"exp" is missing/,
    },
    {
      name: 'an HS512 token (HS256 is pinned)',
      authorization: async () => `Bearer ${await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS512' }).setExpirationTime('1h').sign(key(TEST_API_SECRET))}`,
      message: /algorithm not accepted/,
    },
  ];

  it.for(CASES)('$name: 401 on REST, GraphQL and /meta', async ({ authorization, message }) => {
    const header = await authorization();
    const options = header === undefined ? {} : { authorization: header };
    expectRefusal(await call('GET', `/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify(GOOD_QUERY))}`, options), 401, message);
    expectRefusal(await call('POST', '/cubejs-api/graphql', { ...options, json: { query: '{ cube { user_value { count } } }' } }), 401, message);
    expectRefusal(await call('GET', '/cubejs-api/v1/meta', options), 401, message);
  });

  it('the official client surfaces the reason', async () => {
    const expired = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now() - 120).setExpirationTime(now() - 60).sign(key(TEST_API_SECRET));
    await expect(api.rest(expired).load(GOOD_QUERY)).rejects.toThrow(/expired/);
  });
});

// ---------------------------------------------------------------- routes and methods

describe('routes and methods', () => {
  it.for([
    ['GET', '/cubejs-system/v1/context'],
    ['GET', '/cubejs-system/v1/pre-aggregations'],
    ['GET', '/cubejs-api/v1/run-scheduled-refresh'],
    ['POST', '/cubejs-api/v1/pre-aggregations/jobs'],
    ['POST', '/cubejs-api/v1/pre-aggregations/can-use'],
    ['GET', '/cubejs-api/v1/subscribe'],
    ['GET', '/'],
    ['GET', '/cubejs-api/v2/load'],
  ] as const)('%s %s is 404, even for the admin', async ([method, path]) => {
    expectRefusal(await call(method, path, { token: admin, ...(method === 'POST' ? { json: {} } : {}) }), 404, new RegExp(`unknown route ${method} ${path.replace(/\//g, '\\/')}$`));
  });

  it.for([
    ['DELETE', '/cubejs-api/v1/load', /DELETE not allowed on \/cubejs-api\/v1\/load; use GET or POST/],
    ['PUT', '/cubejs-api/v1/meta', /PUT not allowed on \/cubejs-api\/v1\/meta; use GET/],
    ['GET', '/cubejs-api/graphql', /GET not allowed on \/cubejs-api\/graphql; use POST/],
    ['POST', '/livez', /POST not allowed on \/livez/],
  ] as const)('%s %s is 405', async ([method, path, message]) => {
    expectRefusal(await call(method, path, { token: admin }), 405, message);
  });
});

// ---------------------------------------------------------------- bodies and query shapes

describe('bodies and query shapes', () => {
  it('malformed JSON is 400, on /v1/load and /graphql', async () => {
    expectRefusal(await call('POST', '/cubejs-api/v1/load', { token: admin, raw: '{"query": {"measures": [' }), 400, /request body is not valid JSON/);
    expectRefusal(await call('POST', '/cubejs-api/graphql', { token: admin, raw: '{"query": "{ cube' }), 400, /request body is not valid JSON/);
    expectRefusal(await call('GET', '/cubejs-api/v1/load?query=%7B%22measures', { token: admin }), 400, /query parameter is not valid JSON/);
  });

  it('a body over 64 KiB is 413; one just under is answered (the official client POSTs long queries)', async () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => `${'x'.repeat(990)}${String(i).padStart(5, '0')}`);
    const big = { measures: ['user_value.count'], filters: [{ member: 'user_value.city', operator: 'notEquals', values: values(70) }] };
    expect(JSON.stringify({ query: big }).length).toBeGreaterThan(64 * 1024);
    expectRefusal(await load(admin, big), 413, /request body larger than 65536 bytes/);

    const under = { measures: ['user_value.count'], filters: [{ member: 'user_value.city', operator: 'notEquals', values: values(60) }] };
    expect(JSON.stringify({ query: under }).length).toBeLessThan(64 * 1024);
    const answer = await load(analyst, under);
    expect(answer.status, answer.text).toBe(200);
    expect(Number(answer.body.data[0]['user_value.count'])).toBe(caUsers);
    // The URL would pass 2 000 characters, so @cubejs-client/core sends this one as a POST.
    const viaClient = await api.rest(analyst).load(under as never);
    expect(Number(viaClient.rawData()[0]!['user_value.count'])).toBe(caUsers);
  });

  it.for([
    ['an unknown key in the query', { measures: ['user_value.count'], sql: 'select 1' }, /^invalid query: query: Unrecognized key: "sql"$/],
    ['an unknown key in a filter', { measures: ['user_value.count'], filters: [{ member: 'user_value.plan', operator: 'equals', values: ['free'], sql: '1=1' }] }, /^invalid query: query\.filters\.0: Unrecognized key: "sql"$/],
    ['an unknown operator', { measures: ['user_value.count'], filters: [{ member: 'user_value.plan', operator: 'raw', values: ['1=1'] }] }, /^invalid query: query\.filters\.0\.operator: Invalid option: expected one of "equals"/],
    ['an unknown granularity', { measures: ['user_value.count'], timeDimensions: [{ dimension: 'user_value.signed_up_at', granularity: "day') --" }] }, /^invalid query: query\.timeDimensions\.0\.granularity: Invalid option/],
    ['a hostile time zone', { measures: ['user_value.count'], timezone: "UTC'; drop table core.dim_users; --" }, /^invalid query: query\.timezone: an IANA time zone$/],
    ['a string where a list is expected', { measures: 'user_value.count' }, /^invalid query: query\.measures: .*expected array, received string$/],
    ['a limit out of range', { measures: ['user_value.count'], limit: 10_000_000 }, /^invalid query: query\.limit: Too big/],
  ] as const)('%s is 400', async ([, query, message]) => {
    expectRefusal(await load(admin, query), 400, message);
    expectRefusal(await loadGet(admin, query), 400, message);
  });

  it('an unknown key beside the query is 400', async () => {
    expectRefusal(await call('POST', '/cubejs-api/v1/load', { token: admin, json: { query: GOOD_QUERY, securityContext: { role: 'admin' } } }), 400, /^invalid query: \(body\): Unrecognized key: "securityContext"$/);
    expectRefusal(await call('POST', '/cubejs-api/graphql', { token: admin, json: { query: '{ cube { user_value { count } } }', context: {} } }), 400, /^invalid GraphQL request: \(body\): Unrecognized key: "context"$/);
  });

  const HOSTILE = [
    'user_value.count; drop table core.dim_users',
    'user_value."count"',
    'user_value.count) --',
    "user_value.count' or '1'='1",
    'user_value.count/*x*/',
    '../user_value.count',
    'user_value',
    'user_value.count.month.extra',
  ];
  it.for(HOSTILE)('member name %j is 400 wherever it appears', async (name) => {
    for (const query of [
      { measures: [name] },
      { measures: ['user_value.count'], dimensions: [name] },
      { measures: ['user_value.count'], filters: [{ member: name, operator: 'set' }] },
      { measures: ['user_value.count'], order: [[name, 'asc']] },
      { measures: ['user_value.count'], order: { [name]: 'desc' } },
      { measures: ['user_value.count'], timeDimensions: [{ dimension: name, granularity: 'day' }] },
    ]) {
      expectRefusal(await load(admin, query), 400, /^invalid query: query\.(measures|dimensions|filters|order|timeDimensions)\.\S.*: a member name such as user_activity\.count$/);
    }
    await expect(api.rest(admin).load({ measures: [name] })).rejects.toThrow(/member name/);
    expect((await api.sql("select to_regclass('core.dim_users') as t"))[0]!.t).toBe('core.dim_users');
  });

  it('SQL in filter values is bound as parameters: no rows for equals, nothing dropped', async () => {
    const [before] = await api.sql<{ n: string }>('select count(*) as n from core.dim_users');
    const hostile = ["x' or '1'='1", "'; drop table core.dim_users; --", "CA' --", '\\', '%', "CA') or (1=1"];
    for (const token of [admin, analyst]) {
      const equals = await load(token, { measures: ['user_value.count'], dimensions: ['user_value.region'], filters: [{ member: 'user_value.region', operator: 'equals', values: hostile }] });
      expect(equals.status, equals.text).toBe(200);
      expect(equals.body.data).toEqual([]);
      const contains = await loadGet(token, { measures: ['user_value.count'], dimensions: ['user_value.city'], filters: [{ member: 'user_value.city', operator: 'contains', values: hostile }] });
      expect(contains.status, contains.text).toBe(200);
      expect(contains.body.data).toEqual([]);
    }
    // notEquals the hostile strings leaves every CA user: they were compared as plain text.
    const all = await loadGet(analyst, { measures: ['user_value.count'], filters: [{ member: 'user_value.region', operator: 'notEquals', values: hostile }] });
    expect(Number(all.body.data[0]['user_value.count'])).toBe(caUsers);
    // The same through GraphQL.
    const viaGraphql = await api.graphql(admin).request<{ cube: unknown[] }>(
      'query Q($where: RootWhereInput) { cube(where: $where) { user_value { count region } } }',
      { where: { user_value: { region: { in: hostile } } } },
    );
    expect(viaGraphql.cube).toEqual([]);
    expect((await api.sql("select to_regclass('core.dim_users') as t"))[0]!.t).toBe('core.dim_users');
    const [after] = await api.sql<{ n: string }>('select count(*) as n from core.dim_users');
    expect(after!.n).toBe(before!.n);
  });

  it('a hostile date range is refused as a user error, with nothing run', async () => {
    const answer = await load(admin, { measures: ['user_value.count'], timeDimensions: [{ dimension: 'user_value.signed_up_at', dateRange: ["2025-01-01'; drop table core.dim_users; --", '2025-02-01'] }] });
    expect(answer.status, answer.text).toBeGreaterThanOrEqual(400);
    expect(answer.status, answer.text).toBeLessThan(500);
    expect(answer.body.error).toMatch(/date/i);
    expectNoStack(answer.text);
    expect((await api.sql("select to_regclass('core.dim_users') as t"))[0]!.t).toBe('core.dim_users');
  });
});

// ---------------------------------------------------------------- the access policy

describe('the access policy', () => {
  it.for([
    ['analyst', 'user_value.email', { measures: ['user_value.count'], dimensions: ['user_value.email'] }],
    ['analyst', 'user_value.user_id', { measures: ['user_value.count'], filters: [{ member: 'user_value.user_id', operator: 'set' }] }],
    ['analyst', 'user_value.email', { measures: ['user_value.count'], order: [['user_value.email', 'asc']] }],
    ['viewer', 'user_value.total_cost_to_serve', { measures: ['user_value.total_cost_to_serve'] }],
    ['viewer', 'user_value.gross_margin', { measures: ['user_value.count'], order: { 'user_value.gross_margin': 'desc' } }],
    ['viewer', 'service_costs.cost_to_serve', { measures: ['service_costs.cost_to_serve'] }],
    ['viewer', 'service_costs.cost_type', { measures: ['user_value.count'], filters: [{ or: [{ member: 'service_costs.cost_type', operator: 'set' }] }] }],
  ] as const)('%s may not use %s: 403 over GET and POST', async ([role, member, query]) => {
    const token = role === 'analyst' ? analyst : viewer;
    const message = new RegExp(`role "${role}" may not use ${member.replace('.', '\\.')}`);
    expectRefusal(await load(token, query), 403, message);
    expectRefusal(await loadGet(token, query), 403, message);
    // /v1/sql is for operators; inside Cube, queryRewrite refuses the member on that path too.
    expectRefusal(await call('GET', `/cubejs-api/v1/sql?query=${encodeURIComponent(JSON.stringify(query))}`, { token }), 403, /shows generated SQL/);
    await expect(api.server.cube.planOf(query as never, { role, region: 'CA' })).rejects.toThrow(message);
    await expect(api.rest(token).load(query as never)).rejects.toThrow(message);
    // The same query is fine for the admin: the refusal is the policy, not the query.
    const asAdmin = await load(admin, query);
    expect(asAdmin.status, asAdmin.text).toBe(200);
  });

  it.for([
    ['analyst', 'user_value.email', '{ cube { user_value { count email } } }'],
    ['analyst', 'user_value.email', '{ cube(where: { user_value: { email: { equals: "a@example.com" } } }) { user_value { count } } }'],
    ['viewer', 'user_value.total_cost_to_serve', '{ cube { user_value { count total_cost_to_serve } } }'],
    ['viewer', 'service_costs.cost_to_serve', '{ cube { service_costs { cost_to_serve } } }'],
  ] as const)('GraphQL: %s may not use %s: an error naming it, and no data', async ([role, member, query]) => {
    const token = role === 'analyst' ? analyst : viewer;
    const raw = await graphqlPost(token, query);
    expect(raw.status, raw.text).toBe(403);
    expectNoStack(raw.text);
    expect(raw.body.data ?? null).toBeNull();
    expect(raw.body.errors[0].message).toContain(member);

    const error = await api.graphql(token).request(gql`${query}`).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ClientError);
    const { response } = error as ClientError;
    expect(response.status).toBe(403);
    expect(response.data ?? null).toBeNull();
    expect(response.errors?.map((e) => e.message).join('; ')).toMatch(new RegExp(`role "${role}" may not use .*${member.replace('.', '\\.')}`));
    // And the admin may.
    const asAdmin = await graphqlPost(admin, query);
    expect(asAdmin.status, asAdmin.text).toBe(200);
    expect(asAdmin.body.errors).toBeUndefined();
  });

  it.for([
    ['an unknown role', { role: 'superuser', region: 'CA' }, /unknown role in claim "role"; known roles: admin, analyst, viewer/],
    ['a role named __proto__', { role: '__proto__', region: 'CA' }, /unknown role/],
    ['a role that is not a string', { role: ['admin'], region: 'CA' }, /unknown role/],
    ['an analyst without a region claim', { role: 'analyst' }, /role "analyst" must carry one of the claims "region"/],
    ['no role (the default viewer) and no region', {}, /role "viewer" must carry one of the claims "region"/],
    ['an empty region list', { role: 'analyst', region: [] }, /claim "region" must be a non-empty string or list of strings/],
    ['a region that is a number', { role: 'analyst', region: 42 }, /claim "region" must be a non-empty string/],
    ['an empty region string', { role: 'analyst', region: '' }, /claim "region" must be a non-empty string/],
  ] as const)('%s is 403 on every route', async ([, claims, message]) => {
    const token = await api.token(claims as Record<string, unknown>);
    expectRefusal(await loadGet(token, GOOD_QUERY), 403, message);
    expectRefusal(await graphqlPost(token, '{ cube { user_value { count } } }'), 403, message);
    expectRefusal(await call('GET', '/cubejs-api/v1/meta', { token }), 403, message);
  });

  it.for(['users.count', 'users.user_key', 'events.count', 'outcomes.net_revenue', 'costs.cost_to_serve', 'users.email', 'user_value.no_such_member'])(
    'private or unknown member %s is 400, even for the admin',
    async (member) => {
      const message = new RegExp(`unknown member ${member.replace('.', '\\.')}; see /cubejs-api/v1/meta`);
      expectRefusal(await load(admin, { measures: [member] }), 400, message);
      expectRefusal(await loadGet(admin, { measures: ['user_value.count'], filters: [{ member, operator: 'set' }] }), 400, message);
    },
  );

  it('private cubes are not in the GraphQL schema either', async () => {
    const answer = await graphqlPost(admin, '{ cube { users { count } } }');
    expect(answer.status, answer.text).toBe(400);
    expect(answer.body.errors[0].message).toMatch(/Cannot query field "users"/);
    expectNoStack(answer.text);
  });

  describe('/v1/meta lists only what the role may query', () => {
    const membersFor = async (token: string) => {
      const answer = await call('GET', '/cubejs-api/v1/meta', { token });
      expect(answer.status, answer.text).toBe(200);
      expectNoStack(answer.text);
      const cubes = answer.body.cubes as { name: string; measures: { name: string }[]; dimensions: { name: string }[]; segments: { name: string }[] }[];
      expect(cubes.map((c) => c.name)).not.toContain('users'); // private cubes never
      lastViews = cubes.map((c) => c.name);
      return new Set(cubes.flatMap((c) => [...c.measures, ...c.dimensions, ...c.segments].map((m) => m.name)));
    };
    let lastViews: string[] = [];
    const PII = ['user_value.email', 'user_value.user_id'];
    const COST = ['user_value.total_cost_to_serve', 'user_value.cost_per_user', 'user_value.gross_margin', 'service_costs.cost_to_serve', 'service_costs.served_users', 'service_costs.cost_type'];

    it('admin sees PII and cost members', async () => {
      const members = await membersFor(admin);
      for (const name of [...PII, ...COST, 'user_value.count']) expect(members).toContain(name);
    });
    it('analyst sees cost members but no PII', async () => {
      const members = await membersFor(analyst);
      for (const name of COST) expect(members).toContain(name);
      for (const name of PII) expect(members).not.toContain(name);
    });
    it('viewer sees neither PII nor cost members, and nothing of service_costs', async () => {
      const members = await membersFor(viewer);
      for (const name of [...PII, ...COST]) expect(members).not.toContain(name);
      expect([...members].filter((m) => m.startsWith('service_costs.'))).toEqual([]);
      expect(lastViews).not.toContain('service_costs'); // a view with every member hidden is not listed
      for (const name of ['user_value.count', 'user_value.region', 'revenue.net_revenue', 'user_activity.count']) expect(members).toContain(name);
    });
  });
});
