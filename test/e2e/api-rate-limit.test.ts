/**
 * The per-token rate limit (SEGLAYER_API_RATE_LIMIT requests per minute): with a limit of 5,
 * a token's 6th request in the minute is a 429 with a clear JSON message and no stack, on
 * any route, while another token, and the public health routes, are still answered.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';
import { expectResponsive, livezDuring } from '../support/livez-probe.ts';

let api: ApiFixture;
beforeAll(async () => {
  api = await startApiFixture({ users: 50, env: { SEGLAYER_API_RATE_LIMIT: '5' } });
});
afterAll(() => api?.close());

const get = (path: string, token?: string) => fetch(`${api.server.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
const LOAD = `/cubejs-api/v1/load?query=${encodeURIComponent(JSON.stringify({ measures: ['user_value.count'] }))}`;

it('the 6th request of a token in a minute is 429; another token is still answered', async () => {
  const limited = await api.token({ role: 'analyst', region: 'CA' });
  const other = await api.token({ role: 'analyst', region: 'NY' });
  expect(other).not.toBe(limited);

  for (let i = 1; i <= 5; i++) {
    const response = await get(i % 2 === 0 ? LOAD : '/cubejs-api/v1/meta', limited);
    expect(response.status, `request ${i}: ${await response.text()}`).toBe(200);
  }
  for (const path of ['/cubejs-api/v1/meta', LOAD]) {
    const refused = await get(path, limited);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/application\/json/);
    const text = await refused.text();
    expect(JSON.parse(text)).toEqual({ error: 'rate limit: at most 5 requests per minute per token' });
    expect(text).not.toMatch(/stack|node_modules/);
  }
  // GraphQL counts against the same token, too.
  const graphql = await fetch(`${api.server.url}/cubejs-api/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${limited}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ cube { user_value { count } } }' }),
  });
  expect(graphql.status).toBe(429);
  // The official client sees the refusal as an error naming it.
  await expect(api.rest(limited).load({ measures: ['user_value.count'] })).rejects.toThrow(/rate limit/);

  // Another token has its own budget, and gets right answers.
  const result = await api.rest(other).load({ measures: ['user_value.count'] });
  const [ny] = await api.sql<{ n: string }>("select count(*) as n from core.dim_users where region = 'NY'");
  expect(Number(ny!.n)).toBeGreaterThan(0);
  expect(Number(result.rawData()[0]!['user_value.count'])).toBe(Number(ny!.n));
  // Health checks take no token and are never limited.
  for (let i = 0; i < 7; i++) expect((await get('/livez')).status).toBe(200);
});

/** The same token with its signature's last character re-encoded: the same bytes, other text. */
function reencoded(token: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = token.at(-1)!;
  // An HS256 signature is 32 bytes in 43 characters: the last one carries 2 unused bits.
  return token.slice(0, -1) + alphabet[alphabet.indexOf(last) ^ 1];
}

it('re-encoding a token gives no fresh budget: the limit is keyed on who signed claims name', async () => {
  const token = await api.token({ role: 'analyst', region: 'CA', sub: 'reencoder' });
  const twin = reencoded(token);
  expect(twin).not.toBe(token);
  expect((await get('/cubejs-api/v1/meta', twin)).status, 'the twin is a valid token').toBe(200);
  for (let i = 2; i <= 5; i++) expect((await get('/cubejs-api/v1/meta', token)).status).toBe(200);
  expect((await get('/cubejs-api/v1/meta', token)).status).toBe(429);
  expect((await get('/cubejs-api/v1/meta', twin)).status).toBe(429);
  expect((await get('/cubejs-api/v1/meta', reencoded(twin))).status).toBe(429);
});

it('each cube field of a GraphQL document counts against the limit', async () => {
  const token = await api.token({ role: 'analyst', region: 'CA', sub: 'aliaser' });
  const graphql = (fields: number) => fetch(`${api.server.url}/cubejs-api/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query: `{ ${Array.from({ length: fields }, (_, i) => `q${i}: cube(limit: ${i + 1}) { user_value { count city } }`).join(' ')} }` }),
  });
  expect((await graphql(3)).status).toBe(200); // 3 of 5
  const over = await graphql(3); // 6 > 5
  expect(over.status).toBe(429);
  expect(JSON.stringify(await over.json())).toMatch(/rate limit: at most 5 requests per minute/);
  expect((await get('/cubejs-api/v1/meta', token)).status).toBe(429);
});

it('the server keeps answering /livez while a limited token keeps hammering it', async () => {
  const token = await api.token({ role: 'analyst', region: 'CA', sub: 'hammer' });
  let refused = 0;
  const probe = await livezDuring(api.server.url, async () => {
    for (let round = 0; round < 50; round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, () => get(LOAD, token)));
      refused += answers.filter((answer) => answer.status === 429).length;
    }
  });
  expect(refused).toBe(50 * 8 - 5);
  expectResponsive(probe, 'rate-limited flood');
});
