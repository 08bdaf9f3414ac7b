import { describe, expect, it } from 'vitest';
import { csvCopyFormat, csvRowEncoder, csvValue } from '../../src/load/copy-csv.ts';
import { copyLine, copyText } from '../../src/load/copy-writer.ts';
import { SourceRecord } from '../../src/load/source-record.ts';

describe('COPY text encoding', () => {
  it('escapes the characters COPY treats specially and writes NULL as \\N', () => {
    expect(copyText('a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
    expect(copyText(null)).toBe('\\N');
    expect(copyLine(['x', null, 'y'], '\t7\t1\n')).toBe('x\t\\N\ty\t7\t1\n');
  });
});

describe('COPY CSV encoding', () => {
  it('quotes every value, doubles quotes and writes NULL as an empty field', () => {
    expect(csvValue(null)).toBe('');
    expect(csvValue('say "hi", \\N\r\n')).toBe('"say ""hi"", \\N\r\n"');
  });

  it('sends a verbatim row as written and re-encodes any other, in the file order of columns', () => {
    const format = csvCopyFormat(['event', 'message_id'], ';')!;
    const encode = csvRowEncoder(format, ['message_id', 'event'], 42);
    const verbatim = new SourceRecord(3, ['signed_in', 'm1'], 4, 'signed_in;m1');
    verbatim.verbatim = true;
    expect(encode(verbatim, ['m1', 'signed_in'])).toBe('signed_in;m1;42;3\n');
    const other = new SourceRecord(5, ['', 'm2'], 6, '"";m2');
    expect(encode(other, ['m2', null])).toBe(';"m2";42;5\n');
  });

  it('keeps the text format for delimiters COPY cannot take in CSV', () => {
    expect(csvCopyFormat(['a'], '"')).toBeUndefined();
    expect(csvCopyFormat(['a'], '::')).toBeUndefined();
    expect(csvCopyFormat(['a'], '\\')).toBeUndefined();
    expect(csvCopyFormat(undefined, ',')).toBeUndefined();
  });
});
