/**
 * The CSV fast path reads a line exactly as PapaParse does, or leaves it to
 * Papa: random lines over the characters that matter (quotes, delimiters,
 * carriage returns, spaces, a BOM) are read both ways. And a line it calls
 * verbatim reads back through PostgreSQL's CSV rules (written out here, not
 * taken from the loader) as the same fields, empty ones as NULL.
 */
import Papa from 'papaparse';
import { describe, expect, it } from 'vitest';
import { readFastLine } from '../../src/load/csv-fast-line.ts';

function random(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const ALPHABET = ['a', 'b', ',', ';', '"', '""', ' ', '\r', '\uFEFF', '\\', '\t', 'é'];

/** PostgreSQL's COPY ... (format csv) reading of one line: NULL for an unquoted empty field. */
function postgresCsv(line: string, delimiter: string): (string | null)[] {
  const out: (string | null)[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      out.push(value);
    } else {
      const next = line.indexOf(delimiter, i);
      const value = line.slice(i, next === -1 ? line.length : next);
      out.push(value === '' ? null : value);
      i = next === -1 ? line.length : next;
    }
    if (i >= line.length) return out;
    i++; // the delimiter
    if (i === line.length) return [...out, null];
  }
}

describe('readFastLine', () => {
  it('agrees with PapaParse on every line it reads, and reads plain lines', () => {
    const rand = random(19);
    let read = 0;
    for (let n = 0; n < 20_000; n++) {
      const delimiter = rand() < 0.8 ? ',' : ';';
      const length = Math.floor(rand() * 12);
      let line = '';
      for (let k = 0; k < length; k++) line += ALPHABET[Math.floor(rand() * ALPHABET.length)];
      if (line.startsWith('\uFEFF')) line = `x${line}`; // Papa drops a BOM at the start of its input; csv-source guards that case
      const fast = readFastLine(line, delimiter);
      if (!fast) continue;
      read++;
      const papa = Papa.parse<string[]>(line, { delimiter, newline: '\n', quoteChar: '"' });
      expect(papa.errors, JSON.stringify(line)).toEqual([]);
      expect(fast.fields, JSON.stringify(line)).toEqual(papa.data[0] ?? ['']);
      if (fast.verbatim) {
        expect(postgresCsv(line, delimiter), JSON.stringify(line)).toEqual(fast.fields.map((f) => (f === '' ? null : f)));
      }
    }
    expect(read).toBeGreaterThan(5_000);
    expect(readFastLine('m-1,,page_viewed,"{""path"":""/x""}",', ',')).toEqual({ fields: ['m-1', '', 'page_viewed', '{"path":"/x"}', ''], verbatim: true });
  });

  it('leaves to Papa what it cannot be sure of', () => {
    expect(readFastLine('a,"open', ',')).toBeUndefined(); // may close on a later line
    expect(readFastLine('a,"x"y,b', ',')).toBeUndefined(); // a quote not followed by the delimiter
    expect(readFastLine('a,b"c', ',')).toBeUndefined(); // a quote inside an unquoted field
    expect(readFastLine('a,"",b', ',')?.verbatim).toBe(false); // COPY would read '' where the loader reads NULL
    expect(readFastLine('a,b\rc', ',')?.verbatim).toBe(false); // COPY would read a line end
  });
});
