/**
 * A soak of the semantic API: 50 clients querying REST and GraphQL without
 * pause for 30 s (10 minutes with SEGLAYER_RELIABILITY_FULL=1). No request may
 * fail, and the process's memory must stay bounded.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { reliabilityFull } from '../support/cli-process.ts';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';

const CLIENTS = 50;
const SECONDS = reliabilityFull ? 600 : 30;
/** Growth allowed after the warm-up (the first fifth, at most 60 s: Cube's caches, the pool, JIT). */
const RSS_GROWTH_LIMIT_MB = 250;
const WARM_UP_SECONDS = Math.min(60, SECONDS / 5);

let api: ApiFixture;
beforeAll(async () => {
  // As `serve` runs it: the scheduler on, rollups built before the first request.
  api = await startApiFixture({ users: 200, scheduledRefresh: true });
});
afterAll(() => api?.close());

const queries = [
  { measures: ['user_value.count', 'user_value.total_revenue'], dimensions: ['user_value.plan'] },
  { measures: ['user_activity.count', 'user_activity.active_users'], dimensions: ['user_activity.event'] },
  { measures: ['user_activity.count'], dimensions: ['user_activity.plan'] },
];

it(`${CLIENTS} clients for ${SECONDS} s: no errors, bounded memory`, async () => {
  const token = await api.token({ role: 'admin' });
  const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
  const startRss = mb();
  let maxRss = startRss;
  let warmRss: number | undefined;
  const warmUp = setTimeout(() => (warmRss = mb()), WARM_UP_SECONDS * 1000);
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, mb())), 500);
  const deadline = Date.now() + SECONDS * 1000;
  let requests = 0;
  const errors: string[] = [];
  const client = async (n: number) => {
    for (let i = n; Date.now() < deadline; i++) {
      const query = queries[i % queries.length]!;
      try {
        let response: Response;
        let body: { data?: unknown[]; error?: string };
        do {
          // Cube answers "Continue wait" while a query is still running: the official client polls again.
          response = await fetch(`${api.server.apiUrl}/load`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ query }),
          });
          body = (await response.json()) as typeof body;
        } while (body.error === 'Continue wait');
        if (response.status !== 200 || !Array.isArray(body.data)) errors.push(`${response.status} ${JSON.stringify(body).slice(0, 200)}`);
      } catch (error) {
        errors.push(String(error));
      }
      requests++;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
  clearInterval(sampler);
  clearTimeout(warmUp);
  maxRss = Math.max(maxRss, mb());
  console.log(`reliability: api-soak clients=${CLIENTS} seconds=${SECONDS} requests=${requests} errors=${errors.length} rss_start_mb=${startRss} rss_warm_mb=${warmRss} rss_max_mb=${maxRss} rss_end_mb=${mb()}`);
  expect(errors.slice(0, 5)).toEqual([]);
  expect(requests).toBeGreaterThan(CLIENTS);
  expect(maxRss - warmRss!).toBeLessThan(RSS_GROWTH_LIMIT_MB);
});
