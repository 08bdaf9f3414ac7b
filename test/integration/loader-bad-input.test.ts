/**
 * Bad input never corrupts what is stored: each case is either a clear error
 * (and nothing of the batch is visible) or quarantined rows with a reason (and
 * every good row still loads). A good batch loaded first must survive them all.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile, LoadError } from '../../src/load/batch-loader.ts';
import { UnknownTableError } from '../../src/load/table-contracts.ts';
import { csv, fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const HEADER = 'message_id,user_id,event,occurred_at,properties';
let db: TestDatabase;
let before: { events: number; quarantine: number };

const counts = async () => {
  const { rows } = await db.knex.raw(`select (select count(*) from raw.events)::int as events, (select count(*) from ops.quarantine)::int as quarantine`);
  return rows[0] as { events: number; quarantine: number };
};
const quarantined = async (batchId: number) =>
  (await db.knex('ops.quarantine').where({ batch_id: batchId }).orderBy('row_number').select('row_number', 'field', 'reason', 'raw_payload')) as {
    row_number: number; field: string | null; reason: string; raw_payload: string;
  }[];

beforeAll(async () => {
  db = await createTestDatabase();
  const good = fixture('good.csv', csv(HEADER, 'm1,u1,app_opened,2025-01-01T10:00:00Z,{}', 'm2,u1,feature_used,2025-01-01T10:01:00Z,"{""feature"":""reports""}"', 'm3,u2,app_opened,2025-01-02T09:00:00Z,'));
  const report = await loadFile(db.url, good, { into: 'events' });
  expect(report).toMatchObject({ rowsIn: 3, rowsLoaded: 3, rowsQuarantined: 0 });
  before = await counts();
});
afterAll(() => db.drop());

describe('rows that cannot load are quarantined with a reason; the rest load', () => {
  it('wrong column count, bad timestamps, bad JSON', async () => {
    const file = fixture('mixed.csv', csv(
      HEADER,
      'm10,u3,app_opened,2025-02-01T00:00:00Z,{}',
      'm11,u3,app_opened,2025-02-01T00:00:00Z',                 // too few fields
      'm12,u3,app_opened,2025-02-01T00:00:00Z,{},extra',        // too many
      'm13,u3,app_opened,2025-02-30T00:00:00Z,{}',              // no such day
      'm14,u3,app_opened,yesterday,{}',                         // not a timestamp
      'm15,u3,app_opened,2025-02-01T00:00:00Z,"{""a"":"',       // truncated JSON
      'm16,u3,app_opened,2025-02-01T00:00:00Z,"[1,2]"',         // JSON, not an object
      'm17,u3,,2025-02-01T00:00:00Z,{}',                        // required event missing
      'm18,u3,app_opened,2025-02-01T00:00:01Z,{}',
    ));
    const report = await loadFile(db.url, file, { into: 'raw.events' });
    expect(report).toMatchObject({ rowsIn: 9, rowsLoaded: 2, rowsQuarantined: 7 });
    expect(report.rowsIn).toBe(report.rowsLoaded + report.rowsQuarantined);
    const rows = await quarantined(report.batchId);
    expect(rows.map((r) => [r.row_number, r.field, r.reason])).toEqual([
      [2, null, 'expected 5 fields as in the header, found 4'],
      [3, null, 'expected 5 fields as in the header, found 6'],
      [4, 'occurred_at', 'not a calendar date (month 1-12, day within the month), got "2025-02-30T00:00:00Z"'],
      [5, 'occurred_at', 'not a timestamp (expected ISO 8601, e.g. 2024-05-01T12:00:00Z), got "yesterday"'],
      [6, 'properties', expect.stringMatching(/^not valid JSON/)],
      [7, 'properties', 'expected a JSON object, got "[1,2]"'],
      [8, 'event', 'is required but missing'],
    ]);
    expect(rows[3]!.raw_payload).toBe('m14,u3,app_opened,yesterday,{}');
    const loaded = await db.knex('raw.events').where({ load_batch_id: report.batchId }).orderBy('source_row_number').pluck('message_id');
    expect(loaded).toEqual(['m10', 'm18']);
  });

  it('non-UTF-8 bytes', async () => {
    const bytes = Buffer.concat([
      Buffer.from(`${HEADER}\nm20,u4,app_opened,2025-03-01T00:00:00Z,{}\nm21,u4,caf`),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(',2025-03-01T00:00:00Z,{}\nm22,u4,café,2025-03-01T00:00:00Z,{}\n'),
    ]);
    const report = await loadFile(db.url, fixture('latin.csv', bytes), { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 3, rowsLoaded: 2, rowsQuarantined: 1 });
    expect((await quarantined(report.batchId)).map((r) => [r.row_number, r.field, r.reason])).toEqual([[2, 'event', 'invalid UTF-8 byte sequence']]);
    expect(await db.knex('raw.events').where({ message_id: 'm22' }).first('event')).toEqual({ event: 'café' });
  });

  it('NDJSON lines that are not objects', async () => {
    const file = fixture('events.ndjson', '{"message_id":"n1","event":"a","occurred_at":"2025-01-01T00:00:00Z"}\n{"message_id":\n[1]\n');
    const report = await loadFile(db.url, file, { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 3, rowsLoaded: 1, rowsQuarantined: 2 });
    expect((await quarantined(report.batchId)).map((r) => r.reason)).toEqual([expect.stringMatching(/^not valid JSON/), 'line is JSON but not an object']);
  });
});

describe('files that cannot load fail as a whole, leaving nothing behind', () => {
  const loadedBefore = async () => {
    const now = await counts();
    return now;
  };

  it('a truncated gzip, even after thousands of rows were streamed', async () => {
    const start = await loadedBefore();
    const lines = [HEADER];
    for (let i = 0; i < 50_000; i++) lines.push(`t${i},u${i % 97},app_opened,2025-04-01T00:00:00Z,"{""i"":${i}}"`);
    const gz = gzipSync(Buffer.from(csv(...lines)));
    const file = fixture('truncated.csv.gz', gz.subarray(0, Math.floor(gz.length * 0.8)));
    const attempt = loadFile(db.url, file, { into: 'events' });
    await expect(attempt).rejects.toThrow(LoadError);
    await expect(attempt).rejects.toThrow(/truncated\.csv\.gz: gzip data is truncated or corrupt .*nothing from this batch was loaded/);
    expect(await counts()).toEqual(start);
    const failed = await db.knex('ops.load_batches').where({ status: 'failed' }).orderBy('batch_id', 'desc').first();
    expect(failed.error).toMatch(/gzip data is truncated/);
  });

  it('an empty file', async () => {
    const start = await counts();
    await expect(loadFile(db.url, fixture('empty.csv', ''), { into: 'events' })).rejects.toThrow(/empty\.csv: the file is empty \(0 bytes\), nothing to load/);
    await expect(loadFile(db.url, fixture('blank.csv', '\n\n'), { into: 'events' })).rejects.toThrow(/blank\.csv: no header row/);
    expect(await counts()).toEqual(start);
  });

  it('an unknown table', async () => {
    const file = fixture('x.csv', csv(HEADER, 'm1,u1,a,2025-01-01T00:00:00Z,{}'));
    await expect(loadFile(db.url, file, { into: 'raw.clicks' })).rejects.toThrow(UnknownTableError);
    await expect(loadFile(db.url, file, { into: 'raw.clicks' })).rejects.toThrow(
      'unknown table "raw.clicks": seglayer loads into raw.events, raw.users, raw.identities, raw.outcomes, raw.costs, raw.survey_responses, raw.experiment_assignments',
    );
  });

  it('a header that cannot fill the table', async () => {
    const file = fixture('nots.csv', csv('message_id,event', 'm1,a'));
    await expect(loadFile(db.url, file, { into: 'events' })).rejects.toThrow(/required column "occurred_at" has no source: add --map occurred_at=<file column>/);
  });

  it('a missing file', async () => {
    await expect(loadFile(db.url, '/nonexistent/events.csv', { into: 'events' })).rejects.toThrow('/nonexistent/events.csv: no such file');
  });

  it('left the first good batch exactly as it was', async () => {
    const first = await db.knex('raw.events').where({ load_batch_id: 1 }).orderBy('source_row_number').select('message_id', 'event', 'properties');
    expect(first).toEqual([
      { message_id: 'm1', event: 'app_opened', properties: {} },
      { message_id: 'm2', event: 'feature_used', properties: { feature: 'reports' } },
      { message_id: 'm3', event: 'app_opened', properties: null },
    ]);
    expect((await counts()).events).toBeGreaterThanOrEqual(before.events);
  });
});
