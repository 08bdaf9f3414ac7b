/**
 * marts.cohort_retention on the real UCI Online Retail data
 * (../shared/data/online_retail, loaded with mappings/online_retail.yml): the
 * monthly purchase cohorts (cohort = month of a customer's first order,
 * retained = an order again in month p) against an independent computation made
 * here from the CSV file in TypeScript.
 *
 * An order line, as the warehouse counts one (see segments-online-retail.test.ts):
 * CustomerID present, InvoiceNo not starting with "C", Quantity > 0, UnitPrice > 0.
 * Months are the invoice's date text (UK time; no invoice falls between 00:00 and
 * 01:00, so the UTC month is the same).
 */
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import Papa from 'papaparse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { readMappingFile } from '../../src/load/mapping-file.ts';
import { runModels, type RunSummary } from '../../src/models/model-runner.ts';
import { ONLINE_RETAIL_FILE } from '../support/online-retail-csv.ts';
import { sharedDataMissing } from '../support/shared-data.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const FILE = ONLINE_RETAIL_FILE;

let db: TestDatabase;
let build: RunSummary;

/** Month index (year × 12 + month − 1) of "YYYY-MM-DD ...". */
const monthIndex = (date: string) => Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1;
const monthText = (index: number) => `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}-01`;

/** cohort month → period → customers with an order; and the last month with any order. */
async function cohortsFromCsv(): Promise<{ active: Map<string, number>; sizes: Map<string, number>; lastMonth: number }> {
  const months = new Map<string, Set<number>>();
  let lastMonth = -Infinity;
  await new Promise<void>((resolve, reject) => {
    Papa.parse<Record<string, string>>(createReadStream(FILE).pipe(createGunzip()), {
      header: true,
      skipEmptyLines: true,
      step: ({ data: row }) => {
        const customer = row.CustomerID!.trim();
        if (!customer || row.InvoiceNo!.startsWith('C') || !(Number(row.Quantity) > 0) || !(Number(row.UnitPrice) > 0)) return;
        const month = monthIndex(row.InvoiceDate!);
        lastMonth = Math.max(lastMonth, month);
        const set = months.get(customer) ?? new Set<number>();
        set.add(month);
        months.set(customer, set);
      },
      complete: () => resolve(),
      error: reject,
    });
  });
  const active = new Map<string, number>();
  const sizes = new Map<string, number>();
  for (const set of months.values()) {
    const cohort = Math.min(...set);
    sizes.set(monthText(cohort), (sizes.get(monthText(cohort)) ?? 0) + 1);
    for (const month of set) {
      const key = `${monthText(cohort)}|${month - cohort}`;
      active.set(key, (active.get(key) ?? 0) + 1);
    }
  }
  return { active, sizes, lastMonth };
}

beforeAll(async () => {
  expect(existsSync(FILE), sharedDataMissing(FILE)).toBe(true);
  db = await createTestDatabase();
  const mapping = readMappingFile(join(PROJECT_ROOT, 'mappings/online_retail.yml'));
  await loadFile(db.url, FILE, { into: mapping.into, timezone: mapping.timezone, mapping: mapping.mapping });
  build = await runModels(db.knex, db.url, (await loadTestProject()).models, { select: ['+marts.cohort_retention'] });
}, 600_000);
afterAll(() => db?.drop());

describe('marts.cohort_retention on UCI Online Retail', () => {
  it('builds with its tests passing', () => {
    expect(build.results.filter((r) => r.status !== 'success').map((r) => [r.model, r.error])).toEqual([]);
    expect(build.results.map((r) => r.model)).toContain('marts.cohort_retention');
  });

  it('has every monthly purchase cohort, every period up to December 2011, with the CSV counts', async () => {
    const csv = await cohortsFromCsv();
    const rows = (await db.knex.raw(`
      select cohort_start::text as cohort_start, period_number, cohort_users::int, active_users::int, retention_rate, retention_ci_lower, retention_ci_upper
      from marts.cohort_retention
      where cohort_grain = 'month' and activity = 'purchase' and segment_as_of = 'all' and segment_definition = 'all' and segment = 'all'
      order by 1, 2`)).rows as { cohort_start: string; period_number: number; cohort_users: number; active_users: number; retention_rate: number; retention_ci_lower: number; retention_ci_upper: number }[];
    const expected = [...csv.sizes.entries()].sort().flatMap(([cohort, size]) =>
      Array.from({ length: csv.lastMonth - monthIndex(cohort) + 1 }, (_, period) => ({
        cohort_start: cohort,
        period_number: period,
        cohort_users: size,
        active_users: csv.active.get(`${cohort}|${period}`) ?? 0,
      })),
    );
    expect(csv.sizes.size).toBe(13); // December 2010 … December 2011
    expect(rows.map(({ cohort_start, period_number, cohort_users, active_users }) => ({ cohort_start, period_number, cohort_users, active_users }))).toEqual(expected);
    for (const r of rows) {
      expect(r.retention_rate).toBeCloseTo(r.active_users / r.cohort_users, 12);
      expect(r.retention_ci_lower).toBeLessThanOrEqual(r.retention_rate);
      expect(r.retention_ci_upper).toBeGreaterThanOrEqual(r.retention_rate);
    }
    // Period 0 is the cohort month itself: everyone is active.
    expect(rows.filter((r) => r.period_number === 0).every((r) => r.active_users === r.cohort_users)).toBe(true);
  });

  it('has weekly cohorts that partition the same customers', async () => {
    const [{ weekly, monthly }] = (await db.knex.raw(`
      select sum(cohort_users) filter (where cohort_grain = 'week')::int as weekly, sum(cohort_users) filter (where cohort_grain = 'month')::int as monthly
      from marts.cohort_retention where activity = 'purchase' and segment_as_of = 'all' and period_number = 0`)).rows;
    const csv = await cohortsFromCsv();
    expect(weekly).toBe([...csv.sizes.values()].reduce((a, b) => a + b, 0));
    expect(monthly).toBe(weekly);
  });

  it('splits each cohort by current segment without losing or inventing users', async () => {
    const mismatches = (await db.knex.raw(`
      select r.segment_definition, r.segment from marts.cohort_retention r
      join (select definition, segment, count(*) as members from segments.current_membership group by 1, 2) m
        on m.definition = r.segment_definition and m.segment = r.segment
      where r.cohort_grain = 'month' and r.activity = 'purchase' and r.segment_as_of = 'now' and r.period_number = 0
      group by r.segment_definition, r.segment, m.members
      having sum(r.cohort_users) > max(m.members)`)).rows;
    expect(mismatches).toEqual([]);
    const [{ segments }] = (await db.knex.raw(`select count(distinct (segment_definition, segment))::int as segments from marts.cohort_retention where segment_as_of = 'now'`)).rows;
    expect(segments).toBeGreaterThan(0);
  });
});
