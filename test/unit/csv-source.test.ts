/**
 * The CSV reader over arbitrary chunk boundaries: every line is accounted for,
 * good rows (including multi-line quoted fields and CRLF) come out exactly as
 * PapaParse reads the whole file, and a broken quote costs only its own line.
 */
import { Readable } from 'node:stream';
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/load/csv-source.ts';
import type { LineTally } from '../../src/load/line-reader.ts';
import type { SourceFile } from '../../src/load/source-file.ts';
import type { SourceRecord } from '../../src/load/source-record.ts';

function random(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A source file whose stream yields `content` in random small pieces. */
function chunked(content: string, rand: () => number): SourceFile {
  const bytes = Buffer.from(content, 'utf8');
  let at = 0;
  const stream = new Readable({
    read() {
      if (at >= bytes.length) return void this.push(null);
      const size = 1 + Math.floor(rand() * 300);
      this.push(bytes.subarray(at, at + size));
      at += size;
    },
  });
  return { path: 'test.csv', sizeBytes: bytes.length, gzip: false, stream, bytesRead: () => at } as unknown as SourceFile;
}

async function read(content: string, seed: number) {
  const tally: LineTally = { lines: 0, blankLines: 0, headerLines: 0 };
  const { header, batches } = await readCsv(chunked(content, random(seed)), ',', tally);
  const records: SourceRecord[] = [];
  for await (const batch of batches) records.push(...batch);
  return { header, records, tally };
}

const physicalLines = (content: string) => content.split('\n').length - (content.endsWith('\n') ? 1 : 0);

function generate(rand: () => number, rows: number, broken: boolean) {
  const eol = rand() < 0.5 ? '\n' : '\r\n';
  const lines: string[] = ['id,name,note'];
  const good = new Map<string, string[]>();
  const bad: string[] = [];
  for (let i = 0; i < rows; i++) {
    const id = `r${i}`;
    const kind = rand();
    if (kind < 0.05) lines.push('');
    else if (broken && kind < 0.12) {
      lines.push(`${id},"open ${i},x`);
      bad.push(id);
    } else if (kind < 0.25) {
      const note = `line one${eol}line ""two"", ${i}`;
      lines.push(`${id},"name ${i}","${note}"`);
      good.set(id, [id, `name ${i}`, note.replace(/""/g, '"')]);
    } else {
      lines.push(`${id},name ${i},"quoted, ${i}"`);
      good.set(id, [id, `name ${i}`, `quoted, ${i}`]);
    }
  }
  return { content: lines.join(eol) + (rand() < 0.5 ? eol : ''), good, bad };
}

describe('readCsv', () => {
  it('reads valid files exactly as PapaParse reads them whole, whatever the chunks', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rand = random(seed);
      const { content } = generate(rand, 300, false);
      const { records, tally } = await read(content, seed);
      const whole = Papa.parse<string[]>(content, { delimiter: ',', newline: content.includes('\r\n') ? '\r\n' : '\n', skipEmptyLines: true });
      expect(records.map((r) => r.fields), `seed ${seed}`).toEqual(whole.data.slice(1));
      expect(records.every((r) => !r.problem)).toBe(true);
      const rowLines = records.reduce((n, r) => n + r.lineCount, 0);
      expect(tally.headerLines + tally.blankLines + rowLines).toBe(physicalLines(content));
      expect(tally.lines).toBe(physicalLines(content));
    }
  });

  it('a broken quote costs its own line only; every line is accounted for', async () => {
    for (let seed = 100; seed < 120; seed++) {
      const rand = random(seed);
      const { content, good, bad } = generate(rand, 400, true);
      const { records, tally } = await read(content, seed);
      const loaded = records.filter((r) => !r.problem);
      expect(new Map(loaded.map((r) => [r.fields[0], r.fields])), `seed ${seed}`).toEqual(good);
      expect(records.filter((r) => r.problem).map((r) => r.raw().split(',')[0])).toEqual(bad);
      expect(records.filter((r) => r.problem).every((r) => r.problem!.reason.startsWith('unclosed quote') && r.problem!.field === 'name')).toBe(true);
      const rowLines = records.reduce((n, r) => n + r.lineCount, 0);
      expect(tally.headerLines + tally.blankLines + rowLines).toBe(physicalLines(content));
      expect(tally.lines).toBe(physicalLines(content));
      // line numbers point at the row's first line
      const lines = content.split('\n');
      for (const r of records) expect(lines[r.lineNumber! - 1]!.replace(/\r$/, '').startsWith(`${r.fields[0]!.split(',')[0]}`)).toBe(true);
    }
  });
});

describe('byte order marks', () => {
  const pieces = (...parts: string[]): SourceFile => {
    const stream = Readable.from(parts.map((p) => Buffer.from(p, 'utf8')), { objectMode: false });
    return { path: 'bom.csv', sizeBytes: 0, gzip: false, stream, bytesRead: () => 0 } as unknown as SourceFile;
  };

  it('a BOM-only line at the start of a chunk is a row (quarantined), not a blank line', async () => {
    const tally: LineTally = { lines: 0, blankLines: 0, headerLines: 0 };
    const { header, batches } = await readCsv(pieces('\uFEFFid,name,note\nr1,a,b\n', '\uFEFF\nr2,c,d\n'), ',', tally);
    const records: SourceRecord[] = [];
    for await (const batch of batches) records.push(...batch);
    expect(header).toEqual(['id', 'name', 'note']);
    expect(records.map((r) => [r.lineNumber, r.problem?.reason ?? 'ok'])).toEqual([
      [2, 'ok'],
      [3, 'expected 3 fields as in the header, found 1'],
      [4, 'ok'],
    ]);
    expect(tally).toEqual({ lines: 4, blankLines: 0, headerLines: 1 });
  });
});
