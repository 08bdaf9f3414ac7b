/**
 * Segments on the real UCI Online Retail data (../shared/data/online_retail): load
 * it with mappings/online_retail.yml, build every model, then check
 *   - features.user_features against the README's per-customer reference figures;
 *   - segments.rfm_scores, for every customer, against an independent computation
 *     made here in TypeScript straight from the CSV file (not from the warehouse).
 *
 * The notion of an order used below is the warehouse's, read from the models:
 *   staging.stg_outcomes types a row as a refund when InvoiceNo starts with "C" or
 *   Quantity < 0, else a purchase; its is_order (the default configuration:
 *   SEGLAYER_ORDER_TYPES=purchase,upgrade, SEGLAYER_ORDER_NEEDS_REVENUE=true) makes an
 *   order line of a purchase with a positive amount. Revenue is round(Quantity × UnitPrice × GBP rate, 4)
 *   per line (core.fct_outcomes). So an order line here is: CustomerID present,
 *   InvoiceNo not starting with "C", Quantity > 0 and UnitPrice > 0 (zero-price lines
 *   are no order: they would add an invoice to the frequency without any revenue).
 *   Refunds are not deducted from monetary. README's cleaning (CustomerID, Quantity > 0)
 *   differs only by the zero-price lines.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadFile } from '../../src/load/batch-loader.ts';
import { readMappingFile } from '../../src/load/mapping-file.ts';
import { discoverModels } from '../../src/models/model-discovery.ts';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';
import { ONLINE_RETAIL_FILE, scaled } from '../support/online-retail-csv.ts';
import { sharedDataMissing } from '../support/shared-data.ts';

const DAY_MS = 86_400_000;

let db: TestDatabase;
let build: RunSummary;
/** The GBP rate of core.fx_rates, as its exact decimal text. */
let gbpRate: string;
/** The independent computation from the CSV. */
let csvCustomers: Awaited<ReturnType<typeof customersFromCsv>>;

const rows = async <T = Record<string, unknown>>(sql: string, bindings: unknown[] = []) => (await db.knex.raw(sql, bindings as never)).rows as T[];

// ---- the independent computation ------------------------------------------------

interface Customer {
  lastOrderDay: number;
  /** Invoices with an order line (the warehouse's frequency). */
  invoices: Set<string>;
  /** Invoices with any Quantity > 0 line, zero prices included (the README's frequency). */
  readmeInvoices: Set<string>;
  /** Monetary in USD, units of 10^-4. */
  monetary: bigint;
}

interface Rfm {
  recency: number;
  frequency: number;
  monetary: bigint;
  r: number;
  f: number;
  m: number;
  band: string | null;
}

/** Day number (UTC days since epoch) of the date part of "YYYY-MM-DD HH:MM:SS" (UK local time; no invoice falls 00:00–01:00, so it is the UTC date too). */
const dayOf = (invoiceDate: string) => Date.parse(`${invoiceDate.slice(0, 10)}T00:00:00Z`) / DAY_MS;

async function customersFromCsv(rate: string): Promise<{ customers: Map<string, Customer>; asOfDay: number; lines: number }> {
  // usd per GBP in units of 10^-2 (1.27 → 127): amount (10^-3 units, UnitPrice has ≤ 3 decimals) × rate → 10^-5 units.
  const rateUnits = scaled(rate, 2);
  const customers = new Map<string, Customer>();
  let lastDay = -Infinity;
  let lines = 0;
  await new Promise<void>((resolve, reject) => {
    Papa.parse<Record<string, string>>(createReadStream(ONLINE_RETAIL_FILE).pipe(createGunzip()), {
      header: true,
      skipEmptyLines: true,
      step: ({ data: row }) => {
        const day = dayOf(row.InvoiceDate!);
        if (day > lastDay) lastDay = day; // as_of_at is set by every outcome, guests and refunds too
        const customer = row.CustomerID!.trim();
        const quantity = scaled(row.Quantity!, 0);
        const price = scaled(row.UnitPrice!, 3);
        if (!customer || row.InvoiceNo!.startsWith('C') || quantity <= 0n) return;
        const c = customers.get(customer) ?? { lastOrderDay: -Infinity, invoices: new Set<string>(), readmeInvoices: new Set<string>(), monetary: 0n };
        customers.set(customer, c);
        c.readmeInvoices.add(row.InvoiceNo!);
        if (price <= 0n) return;
        lines++;
        const exact = quantity * price * rateUnits; // 10^-5 units, positive
        const usd = (exact + 5n) / 10n; // round half up to 10^-4, as PostgreSQL's round(numeric, 4) for positive values
        c.lastOrderDay = Math.max(c.lastOrderDay, day);
        c.invoices.add(row.InvoiceNo!);
        c.monetary += usd;
      },
      complete: () => resolve(),
      error: reject,
    });
  });
  return { customers, asOfDay: lastDay + 1, lines };
}

/**
 * Scores as specified: among the population, 1 + floor(5 × (rank − 1) / n), rank()
 * with ties sharing the lowest rank; recency ranked descending (fewest days → 5),
 * frequency and monetary ascending.
 */
function scores<T>(values: T[], compare: (a: T, b: T) => number): number[] {
  const n = values.length;
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => compare(a[0], b[0]));
  const out = new Array<number>(n);
  let rank = 1;
  for (let i = 0; i < n; i++) {
    if (i > 0 && compare(order[i - 1]![0], order[i]![0]) !== 0) rank = i + 1;
    out[order[i]![1]] = 1 + Math.floor((5 * (rank - 1)) / n);
  }
  return out;
}

type Band = { name: string; holds: (s: { r: number; f: number; m: number }) => boolean };

/** segments/rfm.yml's bands with a small evaluator of its own: conjunctions of `r|f|m op n`. */
function bandsFromYaml(): Band[] {
  const doc = parseYaml(readFileSync(join(PROJECT_ROOT, 'segments/rfm.yml'), 'utf8')) as { segments: { name: string; rfm: { bands: { name: string; rule: string }[]; population: string; recency: string; frequency: string; monetary: string } }[] };
  const rfm = doc.segments.find((s) => s.name === 'rfm')!.rfm;
  expect({ population: rfm.population, recency: rfm.recency, frequency: rfm.frequency, monetary: rfm.monetary }).toEqual({
    population: 'frequency >= 1', recency: 'recency_days', frequency: 'frequency', monetary: 'monetary_usd',
  });
  const ops: Record<string, (a: number, b: number) => boolean> = { '>=': (a, b) => a >= b, '<=': (a, b) => a <= b, '>': (a, b) => a > b, '<': (a, b) => a < b, '=': (a, b) => a === b };
  return rfm.bands.map(({ name, rule }) => {
    const terms = rule.split(/\s+and\s+/).map((term) => {
      const match = /^\s*([rfm])\s*(>=|<=|>|<|=)\s*(\d+)\s*$/.exec(term);
      if (!match) throw new Error(`band ${name}: this test only evaluates conjunctions of "r|f|m op n", got "${rule}"`);
      return { score: match[1] as 'r' | 'f' | 'm', op: ops[match[2]!]!, value: Number(match[3]) };
    });
    return { name, holds: (s) => terms.every((t) => t.op(s[t.score], t.value)) };
  });
}

function expectedRfm(customers: Map<string, Customer>, asOfDay: number): Map<string, Rfm> {
  const keys = [...customers.keys()].filter((k) => customers.get(k)!.invoices.size >= 1); // population: frequency >= 1
  const recency = keys.map((k) => asOfDay - customers.get(k)!.lastOrderDay);
  const frequency = keys.map((k) => customers.get(k)!.invoices.size);
  const monetary = keys.map((k) => customers.get(k)!.monetary);
  const r = scores(recency, (a, b) => b - a);
  const f = scores(frequency, (a, b) => a - b);
  const m = scores(monetary, (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const bands = bandsFromYaml();
  return new Map(
    keys.map((k, i) => {
      const s = { r: r[i]!, f: f[i]!, m: m[i]! };
      return [k, { recency: recency[i]!, frequency: frequency[i]!, monetary: monetary[i]!, ...s, band: bands.find((b) => b.holds(s))?.name ?? null }];
    }),
  );
}

// ---- the test --------------------------------------------------------------------

beforeAll(async () => {
  expect(existsSync(ONLINE_RETAIL_FILE), sharedDataMissing(ONLINE_RETAIL_FILE)).toBe(true);
  db = await createTestDatabase();
  const mapping = readMappingFile(join(PROJECT_ROOT, 'mappings/online_retail.yml'));
  const report = await loadFile(db.url, ONLINE_RETAIL_FILE, { into: mapping.into, timezone: mapping.timezone, mapping: mapping.mapping });
  expect(report.rowsLoaded).toBe(541_909);
  build = await runModels(db.knex, db.url, (await loadTestProject()).models);
  gbpRate = (await rows<{ rate: string }>(`select usd_per_unit::text as rate from core.fx_rates where currency = 'GBP'`))[0]!.rate;
  csvCustomers = await customersFromCsv(gbpRate);
}, 600_000);
afterAll(() => db?.drop());

describe('segments on UCI Online Retail', () => {
  it('builds every model with all tests passing', () => {
    expect(build.results.filter((r) => r.status !== 'success').map((r) => `${r.model}: ${r.error}`)).toEqual([]);
  });

  it('has the README reference recency, frequency and monetary (GBP × the GBP rate) for 12346, 12347 and 14646', async () => {
    // README frequency counts invoices with any Quantity > 0 line; the warehouse counts
    // orders, i.e. invoices with revenue. 14646 has one invoice (564651) of zero-price
    // lines only: README 74, warehouse 73. Shown from the file itself:
    const c14646 = csvCustomers.customers.get('14646')!;
    expect(c14646.readmeInvoices.size).toBe(74);
    expect([...c14646.readmeInvoices].filter((i) => !c14646.invoices.has(i))).toEqual(['564651']);
    for (const id of ['12346', '12347']) expect(csvCustomers.customers.get(id)!.readmeInvoices).toEqual(csvCustomers.customers.get(id)!.invoices);

    const figures = await rows(
      `select f.user_key, f.as_of_at = timestamptz '2011-12-10 00:00:00Z' as as_of_ok, f.recency_days, f.frequency,
              f.monetary_usd = v.monetary * r.usd_per_unit as monetary_ok, (f.monetary_usd / r.usd_per_unit)::numeric(18, 2)::text as monetary_gbp
       from features.user_features f
       join (values ('12346', 77183.60), ('12347', 4310.00), ('14646', 280206.02)) v (user_key, monetary) using (user_key)
       cross join (select usd_per_unit from core.fx_rates where currency = 'GBP') r
       order by 1`,
    );
    expect(figures).toEqual([
      { user_key: '12346', as_of_ok: true, recency_days: 326, frequency: 1, monetary_ok: true, monetary_gbp: '77183.60' },
      { user_key: '12347', as_of_ok: true, recency_days: 3, frequency: 7, monetary_ok: true, monetary_gbp: '4310.00' },
      { user_key: '14646', as_of_ok: true, recency_days: 2, frequency: 74 - 1, monetary_ok: true, monetary_gbp: '280206.02' },
    ]);
  });

  it('scores and bands every customer as an independent computation from the CSV does', async () => {
    const { customers, asOfDay, lines } = csvCustomers;
    expect(asOfDay).toBe(Date.parse('2011-12-10T00:00:00Z') / DAY_MS);
    expect(lines).toBe(397_884); // README: CustomerID present, Quantity > 0, UnitPrice > 0
    const expected = expectedRfm(customers, asOfDay);
    expect(expected.size).toBe(4_338); // README: customers after that cleaning

    const got = await rows<{ user_key: string; recency_value: number; frequency_value: number; monetary_value: string; r: number; f: number; m: number; band: string | null }>(
      `select user_key, recency_value::int as recency_value, frequency_value::int as frequency_value, monetary_value::text as monetary_value, r, f, m, band
       from segments.rfm_scores where definition = 'rfm'`,
    );
    expect(got.length).toBe(expected.size);
    const mismatches: string[] = [];
    for (const g of got) {
      const e = expected.get(g.user_key);
      if (!e) {
        mismatches.push(`${g.user_key}: scored but not a customer here`);
        continue;
      }
      const actual = { recency: g.recency_value, frequency: g.frequency_value, monetary: scaled(g.monetary_value, 4), r: g.r, f: g.f, m: g.m, band: g.band };
      for (const key of Object.keys(e) as (keyof Rfm)[]) {
        if (actual[key] !== e[key]) mismatches.push(`${g.user_key} ${key}: got ${actual[key]}, expected ${e[key]}`);
      }
    }
    expect(mismatches.length, mismatches.slice(0, 20).join('\n')).toBe(0);

    // sanity of the reference: quintiles are roughly fifths, and 14646 (highest spend) has m = 5
    expect(expected.get('14646')).toMatchObject({ m: 5, f: 5, r: 5, band: 'champions' });
    expect(expected.get('12346')).toMatchObject({ recency: 326, frequency: 1, r: 1 });
    // every band of rfm.yml is reached on this data, and the counts match the warehouse's
    const byBand = new Map<string, number>();
    for (const e of expected.values()) byBand.set(e.band ?? 'none', (byBand.get(e.band ?? 'none') ?? 0) + 1);
    const warehouse = await rows<{ band: string; n: number }>(`select coalesce(band, 'none') as band, count(*)::int as n from segments.rfm_scores where definition = 'rfm' group by 1`);
    expect(Object.fromEntries(warehouse.map((w) => [w.band, w.n]))).toEqual(Object.fromEntries(byBand));
  });
});
