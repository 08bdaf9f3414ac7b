/**
 * A load leaves the planner statistics of the tables it loaded up to date, so
 * models reading a new batch by load_batch_id plan for its real size.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const statistics = async () =>
  (
    await db.knex.raw(`
      select (select reltuples from pg_class where oid = 'raw.events'::regclass)::int as reltuples,
             (select most_common_vals::text from pg_stats where schemaname = 'raw' and tablename = 'events' and attname = 'load_batch_id') as batches`)
  ).rows[0];

it('analyzes the table a load went into, after the batch committed', async () => {
  const header = 'message_id,user_id,event,occurred_at,properties';
  const rows = (from: number, count: number) =>
    Array.from({ length: count }, (_, i) => `m${from + i},u${(from + i) % 7},app_opened,2025-01-01T00:00:00Z,{}`);
  const first = await loadFile(db.url, fixture('first.csv', csv(header, ...rows(0, 300))), { into: 'events' });
  expect(await statistics()).toEqual({ reltuples: 300, batches: `{${first.batchId}}` });

  const second = await loadFile(db.url, fixture('second.csv', csv(header, ...rows(300, 200))), { into: 'events' });
  expect(await statistics()).toEqual({ reltuples: 500, batches: `{${first.batchId},${second.batchId}}` });
});
