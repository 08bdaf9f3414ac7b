/**
 * The demo reads right (issue 18): its users stay, lapse, go dormant and buy
 * from once to often, so on the reference date every RFM band of segments/rfm.yml
 * has members, none holds most customers, and dormant users are not the majority.
 *
 * Scores, bands and dormancy are recomputed here in TypeScript from core tables
 * (orders, events, churn), then compared with what segments.* built.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoFiles } from '../../src/demo/demo-generator.ts';
import { loadFile } from '../../src/load/batch-loader.ts';
import { runModels } from '../../src/models/model-runner.ts';
import type { Project } from '../../src/project/project.ts';
import type { RfmSegment } from '../../src/segments/segment-definition.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const DAY_MS = 86_400_000;
/** Bounds on each band's share of scored customers (issue 18: none over ~40%, each at least 2%). */
const MIN_BAND_SHARE = 0.02;
const MAX_BAND_SHARE = 0.4;

/** segments/rfm.yml's bands, first match wins, written out again here over scores r, f, m. */
const BANDS: [string, (r: number, f: number, m: number) => boolean][] = [
  ['champions', (r, f, m) => r >= 4 && f >= 4 && m >= 4],
  ['loyal', (_r, f) => f >= 4],
  ['potential_loyalists', (r, f) => r >= 4 && f >= 2],
  ['new_customers', (r) => r >= 4],
  ['at_risk', (r, f) => r <= 2 && f >= 3],
  ['hibernating', (r) => r <= 2],
  ['needs_attention', (r) => r >= 1],
];

let db: TestDatabase;
let project: Project;
const rows = async <T>(sql: string) => (await db.knex.raw(sql)).rows as T[];

/**
 * Default ('rank') scoring: 1 + floor(5 × (rank − 1) / n), ties sharing the lowest
 * rank; recency ranks the most days first, so the fewest days score 5.
 */
function rankScores(values: number[], mostFirst: boolean): number[] {
  const sorted = [...values].sort((a, b) => (mostFirst ? b - a : a - b));
  const firstRank = new Map<number, number>();
  sorted.forEach((v, i) => {
    if (!firstRank.has(v)) firstRank.set(v, i + 1);
  });
  return values.map((v) => 1 + Math.floor((5 * (firstRank.get(v)! - 1)) / values.length));
}

interface Customer { user_key: string; last_order_at: Date; frequency: number; monetary: number }
let asOf: Date;
let expectedBands: Map<string, string>;

beforeAll(async () => {
  db = await createTestDatabase();
  const manifest = await writeDemoFiles({ users: 2000, seed: 42, outDir: mkdtempSync(join(tmpdir(), 'seglayer-demo-')) });
  for (const file of manifest.files) await loadFile(db.url, file.path, { into: file.into });
  project = await loadTestProject();
  const summary = await runModels(db.knex, db.url, project.models, { select: ['+segments.summary'] });
  expect(summary.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);

  // The build's reference time (shared contract: features.user_features.as_of_at).
  asOf = (await rows<{ as_of_at: Date }>(`select distinct as_of_at from features.user_features`))[0]!.as_of_at;
  const customers = await rows<Customer>(`
    select user_key, max(occurred_at) as last_order_at, count(distinct order_id)::int as frequency, sum(revenue_usd)::float8 as monetary
    from core.fct_outcomes where is_order and user_key is not null group by user_key`);
  const day = (t: Date) => Math.floor(t.getTime() / DAY_MS);
  const r = rankScores(customers.map((c) => day(asOf) - day(c.last_order_at)), true);
  const f = rankScores(customers.map((c) => c.frequency), false);
  const m = rankScores(customers.map((c) => c.monetary), false);
  expectedBands = new Map(customers.map((c, i) => [c.user_key, BANDS.find(([, holds]) => holds(r[i]!, f[i]!, m[i]!))![0]]));
}, 600_000);
afterAll(() => db?.drop());

describe('the demo on its reference date', () => {
  it('writes out the bands segments/rfm.yml defines', () => {
    const rfm = project.segments.find((d): d is RfmSegment => d.kind === 'rfm' && d.name === 'rfm')!;
    expect(rfm.rfm.bands.map((b) => [b.name, b.rule])).toEqual([
      ['champions', 'r >= 4 and f >= 4 and m >= 4'],
      ['loyal', 'f >= 4'],
      ['potential_loyalists', 'r >= 4 and f >= 2'],
      ['new_customers', 'r >= 4'],
      ['at_risk', 'r <= 2 and f >= 3'],
      ['hibernating', 'r <= 2'],
      ['needs_attention', 'r >= 1'],
    ]);
  });

  it('puts every customer in the band recomputed from core orders', async () => {
    const built = await rows<{ user_key: string; band: string }>(`select user_key, band from segments.rfm_scores where definition = 'rfm'`);
    expect(new Map(built.map((b) => [b.user_key, b.band]))).toEqual(expectedBands);
  });

  it('has members in every band, each between 2% and 40% of customers', () => {
    const customers = expectedBands.size;
    expect(customers).toBeGreaterThan(300);
    const shares = Object.fromEntries(BANDS.map(([band]) => [band, [...expectedBands.values()].filter((b) => b === band).length / customers]));
    for (const [band, share] of Object.entries(shares)) {
      expect(share, band).toBeGreaterThanOrEqual(MIN_BAND_SHARE);
      expect(share, band).toBeLessThanOrEqual(MAX_BAND_SHARE);
    }
  });

  it('mixes recent, lapsing and long-dormant users; dormant is not the majority', async () => {
    const users = await rows<{ user_key: string; last_seen_at: Date; has_churned: boolean }>(`
      select u.user_key, max(e.occurred_at) as last_seen_at,
             exists (select 1 from core.fct_outcomes o where o.user_key = u.user_key and o.outcome_type = 'churn') as has_churned
      from core.dim_users u join core.fct_events e using (user_key) group by u.user_key`);
    const daysAway = (u: { last_seen_at: Date }) => Math.floor(asOf.getTime() / DAY_MS) - Math.floor(u.last_seen_at.getTime() / DAY_MS);
    const share = (test: (u: (typeof users)[number]) => boolean) => users.filter(test).length / users.length;
    // segments/behavioural.yml: dormant = days_since_last_seen > 30 and not has_churned.
    const dormant = users.filter((u) => daysAway(u) > 30 && !u.has_churned);
    expect(dormant.length / users.length).toBeLessThan(0.5);
    expect(share((u) => daysAway(u) <= 7)).toBeGreaterThan(0.2); // recently active
    expect(share((u) => daysAway(u) > 30 && daysAway(u) <= 90)).toBeGreaterThan(0.05); // lapsing: last seen weeks ago
    expect(share((u) => daysAway(u) > 90)).toBeGreaterThan(0.2); // long dormant
    const built = await rows<{ user_key: string }>(`select user_key from segments.membership where definition = 'dormant'`);
    expect(new Set(built.map((b) => b.user_key))).toEqual(new Set(dormant.map((u) => u.user_key)));
  });

  it('leaves no segment empty and none holding every user', async () => {
    const summary = await rows<{ definition: string; segment: string; members: number; share: number }>(
      `select definition, segment, members::int, share_of_users::float8 as share from segments.summary`);
    expect(summary.length).toBeGreaterThan(20);
    for (const s of summary) {
      expect(s.members, `${s.definition}.${s.segment}`).toBeGreaterThan(0);
      expect(s.share, `${s.definition}.${s.segment}`).toBeLessThan(1);
    }
  });
});
