/**
 * Property-based fuzzing of the API with fast-check (issue 10): random REST query bodies
 * and GraphQL documents, built from valid members, hostile strings and arbitrary JSON in
 * every field, sent by a CA-restricted viewer. For every answer:
 *   - never a 5xx, never a stack trace or internal path in the body;
 *   - a 200 never shows a row of another region;
 * and afterwards a canary the API role could reach is untouched and the server answers.
 *
 * Runs SEGLAYER_FUZZ_RUNS cases per property (default 150, bounded to 60 s each);
 * `SEGLAYER_FUZZ_RUNS=5000 npx vitest run test/e2e/api-fuzz.test.ts` for a long run.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';

const RUNS = Number(process.env.SEGLAYER_FUZZ_RUNS ?? 150);
const TIME_LIMIT_MS = Number(process.env.SEGLAYER_FUZZ_SECONDS ?? 60) * 1000;

let api: ApiFixture;
let viewer: string;
const tally = { requests: 0, ok: 0, refused: 0, rowsChecked: 0 };

beforeAll(async () => {
  api = await startApiFixture({ users: 150, env: { SEGLAYER_API_RATE_LIMIT: '1000000' } });
  viewer = await api.token({ role: 'viewer', region: 'CA' });
  const role = api.server.databaseRole.name;
  await api.sql(`create schema canary;
    create table canary.calls (note text);
    create function canary.touch() returns int language sql security definer as $$ insert into canary.calls values ('called'); select 1 $$;
    grant usage on schema canary to ${role};
    grant execute on function canary.touch() to ${role};`);
});
afterAll(async () => {
  console.log(`fuzz: ${tally.requests} requests, ${tally.ok} answered, ${tally.refused} refused, ${tally.rowsChecked} rows checked for region`);
  await api?.close();
});

const HOSTILE = [
  "UTC') + (select canary.touch()) * interval '1 day' + (interval '0 day",
  "'; select canary.touch(); --", "x' or '1'='1", '"; drop table core.dim_users; --', '\\', '\u0000', '\u2019', '$$', '%', '*/',
  'CA', 'TX', 'Europe/Berlin', 'day', 'asc', 'desc', 'last 7 days', '2024-01-01', 'user_value.email', 'user_value.region',
];
const MEMBERS = ['user_value.count', 'user_value.arpu', 'user_value.plan', 'user_value.region', 'user_value.city', 'user_value.signed_up_at',
  'user_activity.count', 'user_activity.event', 'user_activity.region', 'revenue.net_revenue', 'revenue.region', 'user_value.email', 'service_costs.cost_to_serve', 'users.region'];

const text = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ maxLength: 40 }), fc.constantFrom(...MEMBERS));
const anything = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 3 }), fc.dictionary(text, text, { maxKeys: 2 }));
/** Mostly a valid value, sometimes anything: so that many queries are answered and the rest probe every field. */
const mostly = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: valid }, { weight: 1, arbitrary: anything });
const VIEW = ['user_value.plan', 'user_value.region', 'user_value.city', 'user_value.country'];
const member = mostly(fc.constantFrom(...VIEW));
const filter = fc.letrec((tie) => ({
  leaf: fc.record({ member: mostly(fc.constantFrom('user_value.region', 'user_value.city', 'user_value.plan')), operator: mostly(fc.constantFrom('equals', 'notEquals', 'contains', 'set')), values: fc.array(text, { minLength: 1, maxLength: 3 }) }),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, tie('leaf'), fc.record({ or: fc.array(tie('node'), { minLength: 1, maxLength: 2 }) }), fc.record({ and: fc.array(tie('node'), { minLength: 1, maxLength: 2 }) })),
})).node;
const restQuery = fc.record({
  measures: fc.array(mostly(fc.constantFrom('user_value.count', 'user_value.arpu')), { minLength: 1, maxLength: 2 }),
  dimensions: fc.array(member, { maxLength: 2 }).map((dimensions) => ['user_value.region', ...dimensions]),
  filters: fc.array(filter, { maxLength: 2 }),
  timeDimensions: fc.array(fc.record({ dimension: mostly(fc.constant('user_value.signed_up_at')), granularity: mostly(fc.constantFrom('day', 'month', 'year')), dateRange: mostly(fc.constantFrom('last 7 days', 'this year', '2020-01-01')) }, { requiredKeys: ['dimension'] }), { maxLength: 1 }),
  order: mostly(fc.dictionary(fc.constantFrom('user_value.count', 'user_value.region'), fc.constantFrom('asc', 'desc'), { maxKeys: 2 })),
  limit: mostly(fc.integer({ min: 1, max: 1000 })),
  offset: mostly(fc.integer({ min: 0, max: 10 })),
  timezone: mostly(fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York')),
  renewQuery: mostly(fc.constant(false)),
}, { requiredKeys: ['measures', 'dimensions'] });

async function send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; text: string; json: any }> {
  const url = method === 'GET' ? `${api.server.url}${path}?query=${encodeURIComponent(JSON.stringify(body))}` : `${api.server.url}${path}`;
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${viewer}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    body: method === 'POST' ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  tally.requests++;
  return { status: response.status, text, json };
}

function expectSafe(answer: { status: number; text: string }, label: string): void {
  expect(answer.status, `${label}: ${answer.text.slice(0, 300)}`).toBeLessThan(500);
  expect(answer.text, label).not.toMatch(/"stack"|node_modules|\n\s+at [\w.<]/);
  if (answer.status === 200) tally.ok++;
  else tally.refused++;
  if (process.env.SEGLAYER_FUZZ_DEBUG && answer.status !== 200) console.log(answer.status, answer.text.slice(0, 160));
}

/** Every region value in an answer's rows (REST `data` rows or GraphQL nested objects). */
function regionsIn(value: unknown, out: string[] = []): string[] {
  const stack = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (Array.isArray(item)) stack.push(...item);
    else if (item && typeof item === 'object') {
      for (const [key, v] of Object.entries(item)) {
        if ((key === 'region' || key.endsWith('.region')) && (typeof v === 'string' || v === null)) out.push(String(v));
        else stack.push(v);
      }
    }
  }
  return out;
}

it('random REST queries: no 5xx, no stack, no other region', async () => {
  await fc.assert(
    fc.asyncProperty(restQuery, fc.constantFrom('GET', 'POST') as fc.Arbitrary<'GET' | 'POST'>, async (query, method) => {
      const answer = await send(method, '/cubejs-api/v1/load', method === 'POST' ? { query } : query);
      expectSafe(answer, `${method} ${JSON.stringify(query)}`);
      if (answer.status === 200) {
        const regions = regionsIn(answer.json?.data);
        tally.rowsChecked += regions.length;
        for (const region of regions) expect(region, JSON.stringify(query)).toBe('CA');
      }
    }),
    { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, seed: Number(process.env.SEGLAYER_FUZZ_SEED ?? 20261130) },
  );
}, TIME_LIMIT_MS + 60_000);

const graphqlName = mostly(fc.constantFrom('count', 'region', 'city', 'plan', 'arpu', 'signed_up_at { day }', 'signed_up_at { month }')).map((n) => (typeof n === 'string' && /^[A-Za-z_][A-Za-z0-9_ {}]*$/.test(n) ? n : 'email'));
const graphqlValue = fc.oneof({ weight: 1, arbitrary: text.map((t) => JSON.stringify(t)) }, { weight: 1, arbitrary: fc.integer().map(String) }, { weight: 1, arbitrary: fc.constantFrom('true', 'null', '[]', '{}', '$v') });
const graphqlArgument = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<[string, string]>(['timezone', '"UTC"'], ['timezone', '"Europe/Berlin"'], ['limit', '10'], ['offset', '1'], ['where', '{ user_value: { plan: { equals: "pro" } } }'], ['orderBy', '{ user_value: { count: desc } }']) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('timezone', 'limit', 'offset', 'renewQuery', 'where', 'orderBy', 'bogus'), graphqlValue) },
);
const graphqlDocument = fc.record({
  cubes: fc.array(fc.record({
    alias: fc.option(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), { nil: undefined }),
    args: fc.uniqueArray(graphqlArgument, { maxLength: 3, selector: ([name]) => name }),
    view: mostly(fc.constant('user_value')).map((v) => (v === 'user_value' ? v : 'service_costs')),
    fields: fc.array(graphqlName, { minLength: 1, maxLength: 3 }).map((fields) => ['region', ...fields]),
  }), { minLength: 1, maxLength: 3 }),
  variable: anything,
  garbage: fc.option(fc.string({ maxLength: 30 }), { nil: undefined, freq: 10 }),
}).map(({ cubes, variable, garbage }) => {
  const body = cubes.map((c) => {
    const args = c.args.length > 0 ? `(${c.args.map(([name, value]) => `${name}: ${value}`).join(', ')})` : '';
    return `${c.alias ? `${c.alias}: ` : ''}cube${args} { ${c.view} { ${[...new Set(c.fields)].join(' ')} } }`;
  }).join(' ');
  const uses = body.includes('$v');
  return { query: `query${uses ? '($v: String)' : ''} { ${body} }${garbage ?? ''}`, variables: uses ? { v: variable } : {} };
});

it('random GraphQL documents: no 5xx, no stack, no other region', async () => {
  await fc.assert(
    fc.asyncProperty(graphqlDocument, async (document) => {
      const answer = await send('POST', '/cubejs-api/graphql', document);
      expectSafe(answer, document.query);
      if (answer.status === 200) {
        const regions = regionsIn(answer.json?.data);
        tally.rowsChecked += regions.length;
        for (const region of regions) expect(region, document.query).toBe('CA');
      }
    }),
    { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, seed: Number(process.env.SEGLAYER_FUZZ_SEED ?? 20261130) },
  );
}, TIME_LIMIT_MS + 60_000);

it('afterwards: the canary was never called, and the server answers a good query', async () => {
  const [calls] = await api.sql<{ n: number }>('select count(*)::int as n from canary.calls');
  expect(calls!.n).toBe(0);
  expect(tally.requests).toBeGreaterThanOrEqual(2 * Math.min(RUNS, 20));
  expect(tally.ok, 'some fuzzed queries were valid and answered').toBeGreaterThan(0);
  expect(tally.rowsChecked, 'some answers carried regions to check').toBeGreaterThan(0);
  const answer = await send('GET', '/cubejs-api/v1/load', { measures: ['user_value.count'], dimensions: ['user_value.region'] });
  expect(answer.status).toBe(200);
  expect(regionsIn(answer.json.data)).toEqual(['CA']);
});
