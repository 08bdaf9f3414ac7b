/**
 * A CSV file in the table's own columns goes to COPY in CSV format, most rows
 * as the file wrote them and the others re-encoded from their checked values
 * (src/load/copy-csv.ts). Whichever way a row travels it must land as the
 * loader read it: the expected values below are written out by hand from the
 * file, and the same file loaded through a mapping (the text-format path)
 * must land identically. Rows cover what COPY's CSV rules treat specially:
 * a quoted empty field (COPY: '', loader: NULL), a carriage return, a line
 * break inside quotes, backslashes, tabs, `\N`, a field starting with `\.`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { fixture } from '../support/fixture-files.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

const HEADER = 'message_id,user_id,event,occurred_at,properties,city';
// [the line as written, the row the loader must store (null: quarantined)]
const ROWS: [string, { user_id: string | null; event: string; at: string; properties: unknown; city: string | null } | null][] = [
  ['m1,u1,signed_in,2025-01-01T00:00:00Z,"{""a"":1}",Berlin', { user_id: 'u1', event: 'signed_in', at: '2025-01-01T00:00:00Z', properties: { a: 1 }, city: 'Berlin' }],
  ['m2,"",signed_in,2025-01-01T00:00:01.5Z,,""', { user_id: null, event: 'signed_in', at: '2025-01-01T00:00:01.5Z', properties: null, city: null }],
  ['m3,u\\3,ev\tx,2025-01-01 02:00:00+02,"{""p"":""a\\\\b""}",\\N', { user_id: 'u\\3', event: 'ev\tx', at: '2025-01-01T00:00:00Z', properties: { p: 'a\\b' }, city: '\\N' }],
  ['m4,u4,"car\rriage",2025-01-01T00:00:00Z,,Zürich', { user_id: 'u4', event: 'car\rriage', at: '2025-01-01T00:00:00Z', properties: null, city: 'Zürich' }],
  ['m5,u5,"two\nlines",2025-01-01T00:00:00Z,"{""e"":""🙂""}",', { user_id: 'u5', event: 'two\nlines', at: '2025-01-01T00:00:00Z', properties: { e: '🙂' }, city: null }],
  ['m6,\\.,"\\.",2025-01-01T00:00:00Z,, São Paulo ', { user_id: '\\.', event: '\\.', at: '2025-01-01T00:00:00Z', properties: null, city: ' São Paulo ' }],
  ['m7,u7,signed_in,yesterday,,', null],
  ['m8,u8,"say ""hi""", 2025-01-01T00:00:00Z ,"{}",a,b', null],
  ['m9,u9,"say ""hi""", 2025-01-01T00:00:00Z ,"{}","a,b"', { user_id: 'u9', event: 'say "hi"', at: '2025-01-01T00:00:00Z', properties: {}, city: 'a,b' }],
  ['"",u10,signed_in,2025-01-01T00:00:00Z,,', null],
];

async function stored(batchId: number) {
  return (await db.knex.raw(
    `select message_id, user_id, event, extract(epoch from occurred_at)::float8 * 1000 as at_ms, properties, city, source_row_number::int as row
     from raw.events where load_batch_id = ? order by source_row_number`,
    [batchId],
  )).rows as { message_id: string; user_id: string | null; event: string; at_ms: number; properties: unknown; city: string | null; row: number }[];
}

const expected = () =>
  ROWS.flatMap(([line, row], i) => (row ? [{ message_id: line.split(',')[0], user_id: row.user_id, event: row.event, at_ms: Date.parse(row.at), properties: row.properties, city: row.city, row: i + 1 }] : []));

describe('CSV in the table\'s own columns, through COPY in CSV format', () => {
  it('stores every row as the loader read it, and quarantines the rest with their lines', async () => {
    const path = fixture('own-columns.csv', `${HEADER}\n${ROWS.map(([line]) => line).join('\n')}\n`);
    const report = await loadFile(db.url, path, { into: 'events' });
    expect(report).toMatchObject({ rowsIn: 10, rowsLoaded: 7, rowsQuarantined: 3 });
    expect(await stored(report.batchId)).toEqual(expected());
    const refused = await db.knex('ops.quarantine').where({ batch_id: report.batchId }).orderBy('row_number').select('row_number', 'line_number', 'field', 'reason');
    expect(refused.map((r) => [r.row_number, r.line_number, r.field])).toEqual([[7, 9, 'occurred_at'], [8, 10, null], [10, 12, 'message_id']]);
    expect(refused[1].reason).toBe('expected 6 fields as in the header, found 7');
  });

  it('stores the same rows as the text-format path a mapping takes', async () => {
    const content = `${HEADER}\n${ROWS.map(([line]) => line).join('\n')}\n`;
    const own = await loadFile(db.url, fixture('own.csv', content), { into: 'events' });
    const mapped = await loadFile(db.url, fixture('mapped.csv', content.replace(/^message_id/, 'id')), { into: 'events', mapping: { map: { message_id: 'id' }, set: {}, ignore: [] } });
    expect(mapped.rowsLoaded).toBe(7);
    expect(await stored(mapped.batchId)).toEqual(await stored(own.batchId));
  });

  it('a tab-separated file goes the same way', async () => {
    const tsv = ROWS.filter(([, row]) => row).map(([line]) => line.replace('ev\tx', '"ev\tx"').replace(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/g, '\t'));
    const path = fixture('own-columns.tsv', `${HEADER.replaceAll(',', '\t')}\n${tsv.join('\n')}\n`);
    const report = await loadFile(db.url, path, { into: 'events' });
    expect(report.topReasons).toEqual([]);
    expect(report).toMatchObject({ rowsIn: 7, rowsLoaded: 7, rowsQuarantined: 0 });
    expect((await stored(report.batchId)).map(({ row: _, ...r }) => r)).toEqual(expected().map(({ row: _, ...r }) => r));
  });
});
