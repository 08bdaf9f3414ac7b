/**
 * Reliability: a large generated file with 5% defects of every kind (a leading
 * BOM, BOM-only lines, unclosed quotes, NUL bytes, invalid UTF-8, wrong field
 * counts or shapes, bad timestamps, bad JSON) plus blank lines and multi-line
 * quoted fields, as CSV and as NDJSON. The load must balance against an
 * independent count of the file's lines, load exactly the good rows and
 * quarantine exactly the defective ones: zero loss.
 *
 * 50k rows by default; SEGLAYER_RELIABILITY_FULL=1 runs 1M.
 */
import { closeSync, createReadStream, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFile } from '../../src/load/batch-loader.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const FULL = process.env.SEGLAYER_RELIABILITY_FULL === '1';
const ROWS = FULL ? 1_000_000 : 50_000;
const DEFECT_RATE = 0.05;
const BLANK_RATE = 0.01;
const dir = mkdtempSync(join(tmpdir(), 'seglayer-reliability-'));

function random(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

interface Generated {
  path: string;
  good: number;
  /** Data row numbers (1-based, as the loader numbers them) that must be quarantined. */
  defective: number[];
  kinds: Record<string, number>;
  blankLines: number;
}

/** Writes lines in large pieces; a line is a string or raw bytes (for invalid UTF-8). */
function lineWriter(path: string) {
  const fd = openSync(path, 'w');
  let parts: Buffer[] = [];
  let size = 0;
  const flush = () => {
    writeSync(fd, Buffer.concat(parts));
    parts = [];
    size = 0;
  };
  return {
    line(content: string | Buffer, eol = '\n') {
      const bytes = typeof content === 'string' ? Buffer.from(content + eol, 'utf8') : Buffer.concat([content, Buffer.from(eol)]);
      parts.push(bytes);
      size += bytes.length;
      if (size > 1 << 20) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

const TS = '2025-01-01T00:00:00Z';
const CSV_DEFECTS = ['bom_line', 'unclosed_quote', 'nul_byte', 'invalid_utf8', 'wrong_field_count', 'bad_timestamp', 'bad_json'] as const;
const NDJSON_DEFECTS = ['bom_line', 'unclosed_json', 'nul_byte', 'invalid_utf8', 'not_an_object', 'bad_timestamp', 'missing_event'] as const;

function generateCsv(seed: number): Generated {
  const rand = random(seed);
  const path = join(dir, `defects-${seed}.csv`);
  const out = lineWriter(path);
  const kinds: Record<string, number> = {};
  const defective: number[] = [];
  let good = 0;
  let blankLines = 0;
  out.line('\uFEFFmessage_id,user_id,event,occurred_at,properties'); // a leading BOM: stripped, header read
  for (let row = 1; row <= ROWS; row++) {
    if (rand() < BLANK_RATE) {
      out.line(rand() < 0.5 ? '' : '   ');
      blankLines++;
    }
    const id = `d${row}`;
    if (rand() < DEFECT_RATE) {
      const kind = CSV_DEFECTS[Math.floor(rand() * CSV_DEFECTS.length)]!;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      defective.push(row);
      switch (kind) {
        case 'bom_line': out.line('\uFEFF'); break;
        case 'unclosed_quote': out.line(`${id},u${row % 997},"app_opened,${TS},{}`); break;
        case 'nul_byte': out.line(`${id},u${row % 997},app\0opened,${TS},{}`); break;
        case 'invalid_utf8': out.line(Buffer.concat([Buffer.from(`${id},u${row % 997},caf`), Buffer.from([0xc3, 0x28]), Buffer.from(`,${TS},{}`)])); break;
        case 'wrong_field_count': out.line(`${id},u${row % 997},app_opened,${TS},{},extra`); break;
        case 'bad_timestamp': out.line(`${id},u${row % 997},app_opened,2025-02-30T00:00:00Z,{}`); break;
        case 'bad_json': out.line(`${id},u${row % 997},app_opened,${TS},"{""a"":"`); break;
      }
    } else {
      good++;
      // Some good rows hold a line break inside a quoted field (JSON whitespace).
      const properties = rand() < 0.02 ? `"{""i"":\n${row}}"` : `"{""i"":${row}}"`;
      out.line(`${id},u${row % 997},app_opened,${TS},${properties}`, rand() < 0.1 ? '\r\n' : '\n');
    }
  }
  out.close();
  return { path, good, defective, kinds, blankLines };
}

function generateNdjson(seed: number): Generated {
  const rand = random(seed);
  const path = join(dir, `defects-${seed}.ndjson`);
  const out = lineWriter(path);
  const kinds: Record<string, number> = {};
  const defective: number[] = [];
  let good = 0;
  let blankLines = 0;
  for (let row = 1; row <= ROWS; row++) {
    if (row > 1 && rand() < BLANK_RATE) {
      out.line(rand() < 0.5 ? '' : ' \t ');
      blankLines++;
    }
    const id = `j${row}`;
    const call = { message_id: id, user_id: `u${row % 997}`, event: 'app_opened', occurred_at: TS, properties: { i: row } };
    const bom = row === 1 ? '\uFEFF' : ''; // a leading BOM: stripped, first row loads
    if (row > 1 && rand() < DEFECT_RATE) {
      const kind = NDJSON_DEFECTS[Math.floor(rand() * NDJSON_DEFECTS.length)]!;
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      defective.push(row);
      const json = JSON.stringify(call);
      switch (kind) {
        case 'bom_line': out.line('\uFEFF'); break;
        case 'unclosed_json': out.line(json.slice(0, json.length - 12)); break;
        case 'nul_byte': out.line(json.replace('app_opened', rand() < 0.5 ? 'app\0opened' : 'app\\u0000opened')); break;
        case 'invalid_utf8': {
          const [before, after] = json.split('app_opened') as [string, string];
          out.line(Buffer.concat([Buffer.from(`${before}caf`), Buffer.from([0xc3, 0x28]), Buffer.from(after)]));
          break;
        }
        case 'not_an_object': out.line(JSON.stringify([id, 'app_opened'])); break;
        case 'bad_timestamp': out.line(JSON.stringify({ ...call, occurred_at: 'yesterday' })); break;
        case 'missing_event': out.line(JSON.stringify({ ...call, event: undefined })); break;
      }
    } else {
      good++;
      out.line(bom + JSON.stringify(call), rand() < 0.1 ? '\r\n' : '\n');
    }
  }
  out.close();
  return { path, good, defective, kinds, blankLines };
}

/** Physical lines, counted on the bytes: newlines, plus a last line without one. */
async function countLines(path: string): Promise<number> {
  let lines = 0;
  let last = 0x0a;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
    if (chunk.length) last = chunk[chunk.length - 1]!;
  }
  return last === 0x0a ? lines : lines + 1;
}

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['csv', () => generateCsv(11)],
  ['ndjson', () => generateNdjson(12)],
] as const)('a %s file with 5%% defects of every kind', (format, generate) => {
  it('balances against the file and loses nothing', async () => {
    const file = generate();
    const fileLines = await countLines(file.path);
    const started = Date.now();
    const report = await loadFile(db.url, file.path, { into: 'events', progressEvery: ROWS * 2 });
    const seconds = (Date.now() - started) / 1000;

    const { rows } = await db.knex.raw(
      `select count(*)::int as loaded, count(distinct message_id)::int as ids,
              (select count(*)::int from ops.quarantine where batch_id = ?) as quarantined
       from raw.events where load_batch_id = ?`,
      [report.batchId, report.batchId],
    );
    const stored = rows[0] as { loaded: number; ids: number; quarantined: number };
    const quarantinedRows = (await db.knex('ops.quarantine').where({ batch_id: report.batchId }).orderBy('row_number').pluck('row_number')).map(Number);
    const loss = report.rowsIn - report.rowsLoaded - report.rowsQuarantined;
    const multiLineExtra = report.lines - report.rowsIn - report.blankLines - (format === 'csv' ? 1 : 0);
    console.log(
      `reliability: defects-file format=${format} rows=${ROWS} in=${report.rowsIn} loaded=${report.rowsLoaded} quarantined=${report.rowsQuarantined}` +
        ` blank=${report.blankLines} lines=${report.lines} file_lines=${fileLines} multiline_extra=${multiLineExtra} loss=${loss}` +
        ` good=${file.good} defective=${file.defective.length} kinds=${JSON.stringify(file.kinds)} seconds=${seconds.toFixed(1)}`,
    );

    expect(report.lines).toBe(fileLines);
    expect(report.rowsIn).toBe(ROWS);
    expect(loss).toBe(0);
    expect(report.blankLines).toBe(file.blankLines);
    expect(report.rowsLoaded).toBe(file.good);
    expect(report.rowsQuarantined).toBe(file.defective.length);
    expect(stored).toEqual({ loaded: file.good, ids: file.good, quarantined: file.defective.length });
    expect(quarantinedRows).toEqual(file.defective);
    expect(Object.keys(file.kinds)).toHaveLength(format === 'csv' ? CSV_DEFECTS.length : NDJSON_DEFECTS.length);
  });
});
