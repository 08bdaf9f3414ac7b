/**
 * segments.overlap on a hand-made segments.membership: only the overlap model is
 * built (select ['segments.overlap']), so its input is exactly the fixture below
 * and every figure can be worked out by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

/** definition:segment → members. Overlaps by construction:
 *  a ∩ b = {u3, u4}; a ∩ champions = {u1}; b ∩ champions = ∅; cluster_1 shares nobody. */
const FIXTURE: Record<string, string[]> = {
  'behavioural:a': ['u1', 'u2', 'u3', 'u4'],
  'behavioural:b': ['u3', 'u4', 'u5'],
  'rfm:champions': ['u1', 'u6'],
  'engagement:cluster_1': ['u7'],
};

/** Hand-computed: [a, b, both, jaccard = both / (|a| + |b| − both)]. */
const EXPECTED: [string, string, number, number][] = [
  ['behavioural:a', 'behavioural:b', 2, 2 / 5],
  ['behavioural:a', 'rfm:champions', 1, 1 / 5],
  ['behavioural:a', 'engagement:cluster_1', 0, 0],
  ['behavioural:b', 'rfm:champions', 0, 0],
  ['behavioural:b', 'engagement:cluster_1', 0, 0],
  ['rfm:champions', 'engagement:cluster_1', 0, 0],
];

interface OverlapRow {
  segment_a: string;
  segment_b: string;
  size_a: number;
  size_b: number;
  both: number;
  jaccard: string;
}

let db: TestDatabase;
let build: RunSummary;
let overlap: OverlapRow[];

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema if not exists segments`);
  await db.knex.raw(`create table segments.membership (user_key text not null, definition text not null, segment text not null, version int not null, since timestamptz not null)`);
  const rows = Object.entries(FIXTURE).flatMap(([key, users]) => {
    const [definition, segment] = key.split(':') as [string, string];
    return users.map((user_key) => ({ user_key, definition, segment, version: 1, since: new Date('2025-01-01T00:00:00Z') }));
  });
  await db.knex('segments.membership').insert(rows);
  // The overlap records how much history its counts include (none here).
  await db.knex.raw(`create table segments.membership_history (user_key text, definition text, segment text, version int, change text, changed_at timestamptz, reference_at timestamptz)`);
  build = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['segments.overlap'] });
  overlap = (await db.knex.raw(`select segment_a, segment_b, size_a, size_b, in_both as both, jaccard::text as jaccard from segments.overlap order by 1, 2`)).rows;
});
afterAll(() => db.drop());

describe('segments.overlap on a hand-made membership', () => {
  it('builds only the overlap model, with its tests passing', () => {
    expect(build.results.map((r) => [r.model, r.status, r.error])).toEqual([['segments.overlap', 'success', undefined]]);
  });

  it('has every ordered pair of distinct non-empty segments exactly once', () => {
    const keys = Object.keys(FIXTURE);
    const expected = keys.flatMap((a) => keys.filter((b) => b !== a).map((b) => `${a} | ${b}`)).sort();
    expect(overlap.map((r) => `${r.segment_a} | ${r.segment_b}`).sort()).toEqual(expected);
  });

  it('is symmetric: (a, b) and (b, a) carry the same figures, sizes swapped', () => {
    const byPair = new Map(overlap.map((r) => [`${r.segment_a}|${r.segment_b}`, r]));
    for (const r of overlap) {
      const mirror = byPair.get(`${r.segment_b}|${r.segment_a}`);
      expect(mirror, `${r.segment_b}|${r.segment_a}`).toBeDefined();
      expect({ both: mirror!.both, jaccard: mirror!.jaccard, size_a: mirror!.size_b, size_b: mirror!.size_a }).toEqual({
        both: r.both, jaccard: r.jaccard, size_a: r.size_a, size_b: r.size_b,
      });
    }
  });

  it('has sizes, intersections and Jaccard indexes equal to the hand-computed ones, 0 for disjoint pairs', () => {
    const byPair = new Map(overlap.map((r) => [`${r.segment_a}|${r.segment_b}`, r]));
    for (const [a, b, both, jaccard] of EXPECTED) {
      for (const [x, y] of [[a, b], [b, a]] as const) {
        const row = byPair.get(`${x}|${y}`);
        expect(row, `${x}|${y}`).toBeDefined();
        expect(row!.size_a, `${x} size`).toBe(FIXTURE[x]!.length);
        expect(row!.size_b, `${y} size`).toBe(FIXTURE[y]!.length);
        expect(row!.both, `${x} ∩ ${y}`).toBe(both);
        expect(Number(row!.jaccard), `jaccard ${x} ${y}`).toBeCloseTo(jaccard, 12);
      }
    }
    // The disjoint pairs really are there, with 0 rather than missing or null.
    expect(overlap.filter((r) => r.both === 0)).toHaveLength(8);
    expect(overlap.filter((r) => r.both === 0).every((r) => Number(r.jaccard) === 0)).toBe(true);
  });
});
