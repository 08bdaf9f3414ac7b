/**
 * RFM on the published analysts' conventions reproduces a pandas-style computation on
 * UCI Online Retail, customer for customer. The definition (written below into its own
 * segments directory) uses the new options:
 *   recency    last_order_at, whole days to the last recorded line (reference: last_activity_at),
 *              equal-count bins on the values      — pd.qcut(recency, 5, labels=[5, 4, 3, 2, 1])
 *   frequency  order_lines, ranked first            — pd.qcut(lines.rank(method='first'), 5, labels=[1..5])
 *   monetary   monetary_usd, equal-count bins       — pd.qcut(monetary, 5, labels=[1..5])
 * The expected scores are computed here from the CSV with a TypeScript port of
 * numpy's linear percentile, pandas qcut (right-closed bins, lowest value in bin 1) and
 * rank(method='first') over customers in CustomerID order, as `groupby` leaves them.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { readMappingFile } from '../../src/load/mapping-file.ts';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { ONLINE_RETAIL_FILE, readRetailLines, scaled, type RetailLine } from '../support/online-retail-csv.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const DEFINITION = `
family: value
segments:
  - name: rfm_classic
    title: RFM, published conventions
    description: Online Retail customers scored the way the published pandas analyses do.
    owner: crm
    hypothesis: Reproduces the published segmentation; we will know by comparing customer for customer.
    version: 1
    kind: rfm
    rfm:
      recency: last_order_at
      reference: last_activity_at
      frequency: order_lines
      monetary: monetary_usd
      scoring: { recency: qcut, frequency: rank_first, monetary: qcut }
      population: frequency >= 1
      bands:
        - name: champions
          description: Top scores on all three.
          rule: r >= 4 and f >= 4 and m >= 4
        - name: others
          description: Everyone else scored.
          rule: r >= 1
`;

let db: TestDatabase;
let build: RunSummary;
let lines: RetailLine[];
let gbpUnits: bigint;

beforeAll(async () => {
  db = await createTestDatabase();
  const segmentsDir = mkdtempSync(join(tmpdir(), 'seglayer-rfm-'));
  writeFileSync(join(segmentsDir, 'rfm_classic.yml'), DEFINITION);
  const mapping = readMappingFile(join(PROJECT_ROOT, 'mappings/online_retail.yml'));
  await loadFile(db.url, ONLINE_RETAIL_FILE, { into: mapping.into, timezone: mapping.timezone, mapping: mapping.mapping });
  build = await runModels(db.knex, db.url, (await loadTestProject({ SEGLAYER_SEGMENTS_DIR: segmentsDir })).models);
  lines = await readRetailLines();
  const [gbp] = (await db.knex.raw(`select usd_per_unit::text as rate from core.fx_rates where currency = 'GBP'`)).rows;
  gbpUnits = scaled(gbp.rate, 2);
}, 900_000);
afterAll(() => db?.drop());

// ---- pandas, ported -------------------------------------------------------------

/** np.linspace(0, 1, 6): arange(6) × step, last set to stop. */
const LEVELS = [0, 1, 2, 3, 4, 5].map((i) => (i === 5 ? 1 : i * (1 / 5)));

/** np.percentile(values, 100 × level), method 'linear', numpy's _lerp (b − d·(1 − t) from t ≥ 0.5). */
function percentile(sorted: number[], level: number): number {
  const h = (sorted.length - 1) * level;
  const lo = Math.floor(h);
  const t = h - lo;
  const a = sorted[lo]!;
  const b = sorted[Math.min(lo + 1, sorted.length - 1)]!;
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/** pd.qcut(values, 5, labels=False, duplicates='drop') + 1: bin of each value, 1-based. */
function qcut(values: number[]): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  const edges = [...new Set(LEVELS.map((level) => percentile(sorted, level)))].sort((a, b) => a - b);
  // searchsorted(edges, v, side='left'): the first edge >= v; the lowest value goes to bin 1 (include_lowest).
  return values.map((v) => {
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (edges[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(1, lo);
  });
}

/** Series.rank(method='first'): 1..n ascending, ties in order of appearance. */
function rankFirst(values: number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const ranks = new Array<number>(values.length);
  order.forEach(([, i], r) => (ranks[i] = r + 1));
  return ranks;
}

// ---- the customers, from the CSV ----------------------------------------------------

const isOrderLine = (l: RetailLine) => l.customer !== '' && !l.invoice.startsWith('C') && l.quantity > 0n && l.price > 0n;
function usdUnits(l: RetailLine): bigint {
  return (l.quantity * l.price * gbpUnits + 5n) / 10n; // round half up at 10^-4 (positive amounts)
}

describe('RFM with qcut / rank_first on Online Retail', () => {
  it('builds', () => {
    expect(build.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  });

  it('scores every customer as pandas does', async () => {
    const reference = lines.reduce((max, l) => Math.max(max, l.utcMs), -Infinity); // the last line of any kind: last_activity_at
    const customers = new Map<string, { last: number; lines: number; monetary: bigint }>();
    for (const l of lines.filter(isOrderLine)) {
      const c = customers.get(l.customer) ?? { last: -Infinity, lines: 0, monetary: 0n };
      customers.set(l.customer, c);
      c.last = Math.max(c.last, l.utcMs);
      c.lines++;
      c.monetary += usdUnits(l);
    }
    const ids = [...customers.keys()].sort((a, b) => Number(a) - Number(b)); // groupby('CustomerID') order
    const recency = ids.map((id) => Math.floor((reference - customers.get(id)!.last) / 86_400_000));
    const frequency = ids.map((id) => customers.get(id)!.lines);
    const monetary = ids.map((id) => Number(customers.get(id)!.monetary) / 1e4);
    const r = qcut(recency).map((bin) => 6 - bin);
    const f = qcut(rankFirst(frequency));
    const m = qcut(monetary);
    const expected = ids.map((id, i) => ({ user_key: id, recency: recency[i], frequency: frequency[i], monetary: String(customers.get(id)!.monetary), r: r[i], f: f[i], m: m[i] }));

    const { rows } = await db.knex.raw(`
      select user_key, recency_value::int as recency, frequency_value::int as frequency, (monetary_value * 10000)::bigint::text as monetary, r, f, m
      from segments.rfm_scores where definition = 'rfm_classic' order by user_key::int`);
    expect(rows).toHaveLength(4_338);
    expect(rows).toEqual(expected);
    // Equal-count bins: every score of the frequency ranks holds a fifth of the customers (±1).
    for (let s = 1; s <= 5; s++) expect(Math.abs(f.filter((x) => x === s).length - 4_338 / 5)).toBeLessThanOrEqual(1);
  });
});
