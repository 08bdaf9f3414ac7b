/**
 * The semantic API on real purchase data: UCI Online Retail loaded with the shipped
 * mappings/online_retail.yml only (no demo data, no user records, no events), every
 * model built, Cube behind the gateway. What the API answers is compared with figures
 * computed here straight from the CSV:
 *   - first-purchase cohort sizes and retention (customers with an order line in each
 *     month since the cohort month) — one query through the `revenue` view;
 *   - net revenue of the top countries by the customer's country (the Country of their
 *     latest line, the mapping's user trait), and of guest lines.
 * An order line, as configured by default: CustomerID present, not a cancellation
 * (InvoiceNo "C…" or Quantity < 0) and revenue > 0 (UnitPrice > 0). Revenue per line is
 * round(signed Quantity × UnitPrice × GBP rate, 4), cancellations negative. The display
 * currency is set to GBP: its member names GBP and the rate, and converts back at it.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';
import { monthsBetween, ONLINE_RETAIL_FILE, readRetailLines, scaled, utcMonth, type RetailLine } from '../support/online-retail-csv.ts';
import { sharedDataMissing } from '../support/shared-data.ts';

let api: ApiFixture;
let admin: string;
let lines: RetailLine[];
let gbpUnits: bigint; // USD per GBP in units of 10^-2

beforeAll(async () => {
  expect(existsSync(ONLINE_RETAIL_FILE), sharedDataMissing(ONLINE_RETAIL_FILE)).toBe(true);
  // Money shown in the data's own currency too: GBP at the rates seed's reference rate.
  api = await startApiFixture({ source: { file: ONLINE_RETAIL_FILE, mapping: 'mappings/online_retail.yml' }, env: { SEGLAYER_DISPLAY_CURRENCY: 'GBP' } });
  admin = await api.token({ role: 'admin' });
  lines = await readRetailLines();
  const [gbp] = await api.sql<{ rate: string }>(`select usd_per_unit::text as rate from core.fx_rates where currency = 'GBP'`);
  gbpUnits = scaled(gbp!.rate, 2);
}, 900_000);
afterAll(() => api?.close());

const isCancellation = (l: RetailLine) => l.invoice.startsWith('C') || l.quantity < 0n;
const isOrderLine = (l: RetailLine) => l.customer !== '' && !isCancellation(l) && l.quantity * l.price > 0n;
/** USD of a line in units of 10^-4: round half away from zero of |amount| × rate, signed (refunds negative). */
function usdOf(l: RetailLine): bigint {
  const amount = l.quantity * l.price; // 10^-3
  const signed = isCancellation(l) ? -(amount < 0n ? -amount : amount) : amount;
  const exact = signed * gbpUnits; // 10^-5
  const magnitude = ((exact < 0n ? -exact : exact) + 5n) / 10n;
  return exact < 0n ? -magnitude : magnitude;
}
/** A numeric answer of the API as 10^-4 units. */
const units = (value: unknown) => scaled(String(value ?? '0'), 4);

async function load(query: Record<string, unknown>): Promise<Record<string, unknown>[]> {
  const result = await api.rest(admin).load(query);
  return result.rawData() as Record<string, unknown>[];
}

describe('Online Retail through the API', () => {
  it('has every customer as a user, with first-seen and first-purchase cohorts from their orders', async () => {
    const [row] = await api.sql<Record<string, unknown>>(`
      select count(*)::int as users, count(first_seen_at)::int as seen, count(first_order_month)::int as ordered,
             count(*) filter (where cohort_month = first_seen_month)::int as cohort_is_first_seen
      from core.dim_users`);
    const customers = new Set(lines.filter((l) => l.customer).map((l) => l.customer));
    const ordered = new Set(lines.filter(isOrderLine).map((l) => l.customer));
    expect(row).toEqual({ users: customers.size, seen: customers.size, ordered: ordered.size, cohort_is_first_seen: customers.size });
  });

  it('answers cohort sizes and retention by first-purchase month in one query, equal to the CSV', async () => {
    // Independent: each customer's first order month, then the months they ordered in.
    const firstMonth = new Map<string, string>();
    const activeMonths = new Map<string, Set<string>>();
    for (const l of lines.filter(isOrderLine).sort((a, b) => a.utcMs - b.utcMs)) {
      const month = utcMonth(l.utcMs);
      if (!firstMonth.has(l.customer)) firstMonth.set(l.customer, month);
      (activeMonths.get(l.customer) ?? activeMonths.set(l.customer, new Set()).get(l.customer)!).add(month);
    }
    const expected = new Map<string, number>();
    for (const [customer, months] of activeMonths) {
      const cohort = firstMonth.get(customer)!;
      for (const month of months) {
        const key = `${cohort}|${monthsBetween(cohort, month)}`;
        expected.set(key, (expected.get(key) ?? 0) + 1);
      }
    }

    const answer = await load({
      measures: ['revenue.customers'],
      dimensions: ['revenue.months_since_first_order'],
      timeDimensions: [{ dimension: 'revenue.first_order_month', granularity: 'month' }],
      filters: [{ member: 'revenue.is_order', operator: 'equals', values: ['true'] }],
      limit: 10_000,
    });
    const actual = new Map(
      answer
        .filter((r) => r['revenue.first_order_month.month'] !== null)
        .map((r) => [`${String(r['revenue.first_order_month.month']).slice(0, 7)}|${Number(r['revenue.months_since_first_order'])}`, Number(r['revenue.customers'])]),
    );
    expect(actual).toEqual(expected);
    // The shape an analyst expects: 13 cohorts (2010-12 … 2011-12); the December 2010 cohort is the largest.
    const sizes = [...expected].filter(([k]) => k.endsWith('|0'));
    expect(sizes).toHaveLength(13);
    expect(sizes.reduce((a, [, n]) => a + n, 0)).toBe(firstMonth.size);
    expect(Math.max(...sizes.map(([, n]) => n))).toBe(expected.get('2010-12|0'));
  });

  it("answers net revenue by the customer's country for the top countries, and guest revenue, equal to the CSV", async () => {
    // Independent: a customer's country is the Country of their latest line.
    const latest = new Map<string, RetailLine>();
    for (const l of lines) {
      if (!l.customer) continue;
      const seen = latest.get(l.customer);
      if (!seen || l.utcMs > seen.utcMs) latest.set(l.customer, l);
    }
    for (const l of lines) {
      // The rule is well defined here: no customer has two countries at their latest time.
      if (l.customer && l.utcMs === latest.get(l.customer)!.utcMs) expect(l.country, l.customer).toBe(latest.get(l.customer)!.country);
    }
    const byCountry = new Map<string, bigint>();
    let guests = 0n;
    for (const l of lines) {
      if (!l.customer) guests += usdOf(l);
      else byCountry.set(latest.get(l.customer)!.country, (byCountry.get(latest.get(l.customer)!.country) ?? 0n) + usdOf(l));
    }
    const top = [...byCountry].sort((a, b) => (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0)).slice(0, 5);
    expect(top[0]![0]).toBe('United Kingdom');

    const answer = await load({
      measures: ['revenue.net_revenue'],
      dimensions: ['revenue.country'],
      filters: [{ member: 'revenue.is_identified', operator: 'equals', values: ['true'] }],
      order: { 'revenue.net_revenue': 'desc' },
      limit: 5,
    });
    expect(answer.map((r) => [r['revenue.country'], units(r['revenue.net_revenue'])])).toEqual(top);

    const [guest] = await load({ measures: ['revenue.net_revenue'], filters: [{ member: 'revenue.is_identified', operator: 'equals', values: ['false'] }] });
    expect(units(guest!['revenue.net_revenue'])).toBe(guests);

    // The same top countries in the display currency: USD ÷ the GBP rate.
    const display = await load({
      measures: ['revenue.net_revenue_display'],
      dimensions: ['revenue.country'],
      filters: [{ member: 'revenue.is_identified', operator: 'equals', values: ['true'] }],
      order: { 'revenue.net_revenue_display': 'desc' },
      limit: 5,
    });
    expect(display.map((r) => r['revenue.country'])).toEqual(top.map(([country]) => country));
    display.forEach((r, i) => expect(Number(r['revenue.net_revenue_display'])).toBeCloseTo(Number(top[i]![1]) / 1e4 / (Number(gbpUnits) / 100), 4));
  });

  it('names the display currency and its rate in the member', async () => {
    // Cube 0.33 gives view members generated titles and no format, so the description carries them.
    const meta = await api.rest(admin).meta();
    const member = meta.meta.cubes.find((c) => c.name === 'revenue')!.measures.find((m) => m.name === 'revenue.net_revenue_display')!;
    expect((member as { description?: string }).description).toContain(`Net revenue in GBP (SEGLAYER_DISPLAY_CURRENCY), refunds deducted: the USD revenue at 1 GBP = ${Number(gbpUnits) / 100} USD`);
  });
});
