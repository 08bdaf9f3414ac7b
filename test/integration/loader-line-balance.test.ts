/**
 * Nothing in a file vanishes uncounted: the report balances against the file's
 * own line count (every line is the header, a counted blank line, or part of a
 * row that was loaded or quarantined), whatever a parser makes of it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile, type LoadReport } from '../../src/load/batch-loader.ts';
import { fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const HEADER = 'message_id,user_id,event,occurred_at,properties';
const BOM = '\uFEFF';
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

/** Physical lines, counted on the bytes: newlines, plus a last line without one. */
function fileLines(path: string): number {
  const bytes = readFileSync(path);
  let n = 0;
  for (const b of bytes) if (b === 0x0a) n++;
  return bytes.length && bytes[bytes.length - 1] !== 0x0a ? n + 1 : n;
}

function expectBalanced(report: LoadReport, path: string, headerLines: number, multiLineExtra = 0) {
  expect(report.lines).toBe(fileLines(path));
  expect(report.rowsIn).toBe(report.rowsLoaded + report.rowsQuarantined);
  expect(report.rowsIn + report.blankLines + headerLines + multiLineExtra).toBe(report.lines);
}

const quarantined = async (batchId: number) =>
  (await db.knex('ops.quarantine').where({ batch_id: batchId }).orderBy('row_number').select('row_number', 'line_number', 'field', 'reason', 'raw_payload')) as {
    row_number: number; line_number: number; field: string | null; reason: string; raw_payload: string;
  }[];
const event = (i: number) => JSON.stringify({ message_id: `n${i}`, event: 'app_opened', occurred_at: '2025-01-01T00:00:00Z' });

describe('NDJSON', () => {
  it('a line holding only a byte order mark is quarantined, not skipped', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) lines.push(i % 29 === 5 ? BOM : event(i));
    const path = fixture('bom-lines.ndjson', `${lines.join('\n')}\n`);
    const report = await loadFile(db.url, path, { into: 'events' });
    const boms = lines.filter((l) => l === BOM).length;
    expect(boms).toBe(7);
    expect(report).toMatchObject({ rowsIn: 200, rowsLoaded: 193, rowsQuarantined: 7, blankLines: 0 });
    expectBalanced(report, path, 0);
    const rows = await quarantined(report.batchId);
    expect(rows.map((r) => r.line_number)).toEqual([6, 35, 64, 93, 122, 151, 180]);
    expect(rows[0]!.reason).toMatch(/^not valid JSON/);
    expect(rows[0]!.raw_payload).toBe(BOM);
  });

  it('a byte order mark at the start of the file is dropped and the first row loads', async () => {
    const path = fixture('leading-bom.ndjson', `${BOM}${event(1)}\n${event(2)}\n`);
    const report = await loadFile(db.url, path, { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 2, rowsLoaded: 2, rowsQuarantined: 0 });
    expect(await db.knex('raw.events').where({ load_batch_id: report.batchId }).orderBy('message_id').pluck('message_id')).toEqual(['n1', 'n2']);
  });

  it('blank lines are counted in the report', async () => {
    const path = fixture('blanks.ndjson', `${event(1)}\n\n  \n${event(2)}\r\n\r\n${event(3)}`);
    const report = await loadFile(db.url, path, { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 3, rowsLoaded: 3, blankLines: 3, lines: 6 });
    expectBalanced(report, path, 0);
  });
});

describe('CSV', () => {
  const row = (i: number) => `c${i},u${i % 7},app_opened,2025-01-01T00:00:00Z,"{""i"":${i}}"`;

  it('an unclosed quote on row 500 of 1,000 quarantines that row only', async () => {
    const lines = [HEADER];
    for (let i = 1; i <= 1000; i++) lines.push(i === 500 ? `c500,u1,"app_opened,2025-01-01T00:00:00Z,{}` : row(i));
    const path = fixture('unclosed.csv', `${lines.join('\n')}\n`);
    const report = await loadFile(db.url, path, { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 1000, rowsLoaded: 999, rowsQuarantined: 1 });
    expectBalanced(report, path, 1);
    expect(await quarantined(report.batchId)).toEqual([
      {
        row_number: 500, line_number: 501, field: 'event', raw_payload: lines[500],
        reason: "unclosed quote: the quoted field closes only on a later line, and not as one row of the header's width; the lines after it were read as rows of their own",
      },
    ]);
    expect(await db.knex('raw.events').where({ load_batch_id: report.batchId, message_id: 'c1000' }).first('source_row_number')).toEqual({ source_row_number: 1000 });
  });

  it('an unclosed quote with no quote after it: the rest of the file still loads', async () => {
    const lines = [HEADER, `x1,u1,"app_opened,2025-01-01T00:00:00Z,{}`];
    for (let i = 2; i <= 3000; i++) lines.push(`x${i},u1,app_opened,2025-01-01T00:00:00Z,{}`);
    const path = fixture('unclosed-to-end.csv', `${lines.join('\n')}\n`);
    const report = await loadFile(db.url, path, { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 3000, rowsLoaded: 2999, rowsQuarantined: 1 });
    expectBalanced(report, path, 1);
    expect((await quarantined(report.batchId))[0]).toMatchObject({ field: 'event', reason: expect.stringMatching(/^unclosed quote: the quoted field runs past 1000 lines;/) });

    const tail = fixture('unclosed-last.csv', `${HEADER}\nz1,u1,app_opened,2025-01-01T00:00:00Z,{}\nz2,u1,"app_opened,2025-01-01T00:00:00Z,{}\n`);
    const last = await loadFile(db.url, tail, { into: 'events' });
    expect(last).toMatchObject({ rowsIn: 2, rowsLoaded: 1, rowsQuarantined: 1 });
    expect((await quarantined(last.batchId))[0]!.reason).toMatch(/still open at the end of the file/);
  });

  it('a quoted field with line breaks is one row spanning its lines', async () => {
    const path = fixture('multiline.csv', `${HEADER}\nq1,u1,app_opened,2025-01-01T00:00:00Z,"{""note"":\n""two\\nlines""\n}"\nq2,u1,app_opened,2025-01-01T00:00:00Z,{}\n`);
    const report = await loadFile(db.url, path, { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 2, rowsLoaded: 2, rowsQuarantined: 0, lines: 5 });
    expectBalanced(report, path, 1, 2);
    expect(await db.knex('raw.events').where({ message_id: 'q1' }).first('properties')).toEqual({ properties: { note: 'two\nlines' } });
  });

  it("PapaParse's own errors quarantine the row they belong to", async () => {
    const path = fixture('bad-quotes.csv', `${HEADER}\np1,u1,app_opened,2025-01-01T00:00:00Z,{}\np2,u1,"app"opened,2025-01-01T00:00:00Z,{}\np3,u1,app_opened,2025-01-01T00:00:00Z,{}\n`);
    const report = await loadFile(db.url, path, { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 3, rowsLoaded: 2, rowsQuarantined: 1 });
    expect((await quarantined(report.batchId)).map((r) => [r.row_number, r.line_number, r.reason, r.raw_payload])).toEqual([
      [2, 3, expect.stringMatching(/^malformed quoted field \(a quote inside it is not doubled: Trailing quote on quoted field is malformed\)/), 'p2,u1,"app"opened,2025-01-01T00:00:00Z,{}'],
    ]);
  });

  it('blank lines are counted, a leading byte order mark dropped', async () => {
    const path = fixture('blank-lines.csv', `${BOM}${HEADER}\r\n${row(1)}\r\n\r\n${row(2)}\r\n\r\n\r\n${row(3)}\r\n`);
    const report = await loadFile(db.url, path, { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 3, rowsLoaded: 3, rowsQuarantined: 0, blankLines: 3, lines: 7 });
    expectBalanced(report, path, 1);
  });
});

describe('loading a file again', () => {
  it('reports the quarantined rows an earlier batch already quarantined', async () => {
    const path = fixture('again.csv', `${HEADER}\nr1,u1,app_opened,2025-01-01T00:00:00Z,{}\nr2,u1,app_opened,yesterday,{}\nr3,u1,"open,2025-01-01T00:00:00Z,{}\n`);
    const first = await loadFile(db.url, path, { into: 'events' });
    expect(first).toMatchObject({ rowsQuarantined: 2, alreadyQuarantined: [] });
    const second = await loadFile(db.url, path, { into: 'events' });
    expect(second).toMatchObject({ rowsQuarantined: 2, alreadyQuarantined: [{ batchId: first.batchId, rows: 2 }] });
    const third = await loadFile(db.url, path, { into: 'events' });
    expect(third.alreadyQuarantined).toEqual([{ batchId: first.batchId, rows: 2 }]);
  });
});
