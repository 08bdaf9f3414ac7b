/**
 * The answer cache's key and bookkeeping, without a database: the key changes with the
 * rewritten query, any identity claim, the build and the data model, and not with key
 * order or the token's time claims; with freshness 0 the build is read for every key,
 * and concurrent keys share one read; least recently used answers go first.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, createAnswerCache } from '../../src/serve/answer-cache.ts';

const QUERY = { measures: ['user_value.count'], dimensions: ['user_value.region'] };

function cacheWith(options: { entries?: number; freshnessMs?: number } = {}) {
  const state = { build: '1', model: 'm1', reads: 0 };
  const cache = createAnswerCache({
    entries: options.entries ?? 10,
    freshnessMs: options.freshnessMs ?? 0,
    readBuild: async () => {
      state.reads++;
      return state.build;
    },
    modelVersion: () => state.model,
  });
  return { cache, state };
}

describe('answer cache', () => {
  it('keys on the rewritten query, every identity claim, the build and the model, not on key order or time claims', async () => {
    const { cache, state } = cacheWith();
    const claims = { role: 'analyst', region: 'CA', iat: 1, exp: 2 };
    const key = await cache.keyOf({ queries: [QUERY] }, claims);
    expect(await cache.keyOf({ queries: [{ dimensions: QUERY.dimensions, measures: QUERY.measures }] }, { exp: 9, region: 'CA', role: 'analyst', iat: 5, jti: 'x' })).toBe(key);
    const others = [
      await cache.keyOf({ queries: [{ ...QUERY, filters: [{ member: 'user_value.region', operator: 'equals', values: ['CA'] }] }] }, claims),
      await cache.keyOf({ queries: [QUERY] }, { ...claims, region: 'NY' }),
      await cache.keyOf({ queries: [QUERY] }, { ...claims, role: 'viewer' }),
      await cache.keyOf({ queries: [QUERY] }, { ...claims, team: 'growth' }),
      await cache.keyOf({ queries: [QUERY], queryType: 'multi' }, claims),
    ];
    state.build = '2';
    others.push(await cache.keyOf({ queries: [QUERY] }, claims));
    state.model = 'm2';
    others.push(await cache.keyOf({ queries: [QUERY] }, claims));
    expect(new Set([key, ...others]).size).toBe(others.length + 1);
  });

  it('with freshness 0 reads the build for every key; concurrent keys share a read started after they were asked', async () => {
    const { cache, state } = cacheWith({ freshnessMs: 0 });
    await cache.keyOf({ queries: [QUERY] }, {});
    await cache.keyOf({ queries: [QUERY] }, {});
    expect(state.reads).toBe(2);
    await Promise.all(Array.from({ length: 5 }, () => cache.keyOf({ queries: [QUERY] }, {})));
    expect(state.reads).toBeLessThanOrEqual(4);
  });

  it('with freshness > 0 reads the build once for many keys', async () => {
    const { cache, state } = cacheWith({ freshnessMs: 60_000 });
    for (let i = 0; i < 20; i++) await cache.keyOf({ queries: [QUERY] }, {});
    expect(state.reads).toBe(1);
  });

  it('keeps at most `entries` answers, least recently used out first; 0 keeps none', () => {
    const { cache } = cacheWith({ entries: 2 });
    cache.set('a', '1');
    cache.set('b', '2');
    expect(cache.get('a')).toBe('1'); // a is now the most recently used
    cache.set('c', '3');
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c')]).toEqual(['1', '3']);
    const { cache: none } = cacheWith({ entries: 0 });
    none.set('a', '1');
    expect(none.enabled).toBe(false);
    expect(none.get('a')).toBeUndefined();
  });

  it('writes canonical JSON: sorted keys at every level, arrays in order', () => {
    expect(canonicalJson({ b: [{ y: 1, x: 2 }], a: 1 })).toBe('{"a":1,"b":[{"x":2,"y":1}]}');
  });
});
