/**
 * The real UCI Online Retail file loads through `seglayer load` with the
 * committed mapping, and the reference figures of ../shared/data/README.md hold
 * on what landed in raw.outcomes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile, type LoadReport } from '../../src/load/batch-loader.ts';
import { readMappingFile } from '../../src/load/mapping-file.ts';
import { ONLINE_RETAIL_FILE } from '../support/online-retail-csv.ts';
import { sharedDataMissing } from '../support/shared-data.ts';
import { createTestDatabase, PROJECT_ROOT, type TestDatabase } from '../support/test-database.ts';

const FILE = ONLINE_RETAIL_FILE;
let db: TestDatabase;
let report: LoadReport;

const one = async (sql: string) => Object.values((await db.knex.raw(sql)).rows[0])[0];

beforeAll(async () => {
  expect(existsSync(FILE), sharedDataMissing(FILE)).toBe(true);
  db = await createTestDatabase();
  const mapping = readMappingFile(join(PROJECT_ROOT, 'mappings/online_retail.yml'));
  report = await loadFile(db.url, FILE, { into: mapping.into, timezone: mapping.timezone, mapping: mapping.mapping });
});
afterAll(() => db.drop());

describe('UCI Online Retail, loaded with mappings/online_retail.yml', () => {
  it('accounts for every row', () => {
    expect(report).toMatchObject({ rowsIn: 541_909, rowsLoaded: 541_909, rowsQuarantined: 0, tables: { 'raw.outcomes': 541_909 } });
  });

  it('matches the raw-file reference figures', async () => {
    const { rows } = await db.knex.raw(`
      select count(*) filter (where user_id is null)                              as no_customer,
             count(*) filter (where properties->>'Description' is null)           as no_description,
             count(distinct user_id)                                              as customers,
             count(distinct order_id)                                             as invoices,
             count(distinct product_id)                                           as products,
             count(distinct properties->>'Country')                               as countries,
             count(*) filter (where order_id like 'C%')                           as cancellations,
             count(*) filter (where quantity < 0 and order_id not like 'C%')      as negative_not_cancelled,
             count(*) filter (where unit_price = 0)                               as zero_price,
             round(sum(quantity * unit_price), 2)::text                           as gross
      from raw.outcomes`);
    expect(rows[0]).toEqual({
      no_customer: 135_080, no_description: 1_454, customers: 4_372, invoices: 25_900, products: 4_070, countries: 38,
      cancellations: 9_288, negative_not_cancelled: 1_336, zero_price: 2_515, gross: '9747747.93',
    });
    const duplicates = await one(`
      select count(*) - count(distinct (order_id, product_id, properties, quantity, occurred_at, unit_price, user_id)) from raw.outcomes`);
    expect(duplicates).toBe(5_268);
  });

  it('matches the cleaned figures most RFM analyses use', async () => {
    const { rows } = await db.knex.raw(`
      select count(*) filter (where user_id is not null)                                       as with_customer,
             count(*) filter (where user_id is not null and quantity > 0)                      as positive,
             count(distinct user_id) filter (where quantity > 0)                               as positive_customers,
             round(sum(quantity * unit_price) filter (where user_id is not null and quantity > 0), 2)::text as revenue,
             count(*) filter (where user_id is not null and quantity > 0 and unit_price > 0)   as priced,
             count(distinct user_id) filter (where quantity > 0 and unit_price > 0)            as priced_customers,
             count(distinct order_id) filter (where user_id is not null and quantity > 0 and unit_price > 0) as priced_invoices
      from raw.outcomes`);
    expect(rows[0]).toEqual({ with_customer: 406_829, positive: 397_924, positive_customers: 4_339, revenue: '8911407.90', priced: 397_884, priced_customers: 4_338, priced_invoices: 18_532 });
  });

  it('reads InvoiceDate as UK local time and matches the per-customer RFM check values', async () => {
    expect(await one(`select min(occurred_at) = timestamptz '2010-12-01 08:26:00 Europe/London' from raw.outcomes`)).toBe(true);
    const { rows } = await db.knex.raw(`
      select user_id,
             date '2011-12-10' - max((occurred_at at time zone 'Europe/London')::date) as recency,
             count(distinct order_id)::int                                             as frequency,
             round(sum(quantity * unit_price), 2)::text                                as monetary
      from raw.outcomes where user_id in ('12346', '12347', '14646') and quantity > 0
      group by user_id order by user_id`);
    expect(rows).toEqual([
      { user_id: '12346', recency: 326, frequency: 1, monetary: '77183.60' },
      { user_id: '12347', recency: 3, frequency: 7, monetary: '4310.00' },
      { user_id: '14646', recency: 2, frequency: 74, monetary: '280206.02' },
    ]);
    const top = await one(`select user_id from raw.outcomes where user_id is not null and quantity > 0 group by user_id order by sum(quantity * unit_price) desc limit 1`);
    expect(top).toBe('14646');
  });
});
