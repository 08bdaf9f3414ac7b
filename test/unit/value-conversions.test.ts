import { describe, expect, it } from 'vitest';
import { compileRowBuilder } from '../../src/load/row-builder.ts';
import { planCsvColumns } from '../../src/load/column-mapping.ts';
import { SourceRecord } from '../../src/load/source-record.ts';
import { contractFor } from '../../src/load/table-contracts.ts';
import { parseSourceSpec } from '../../src/load/value-conversions.ts';

const outcomes = contractFor('outcomes');

/** Builds one raw.outcomes row from a CSV header and one row, through the mapping. */
function row(header: string[], fields: string[], map: Record<string, string>) {
  const plan = planCsvColumns(outcomes, header, { map, set: {}, ignore: [] }, 'f.csv');
  const builder = compileRowBuilder(outcomes, plan.getters, plan.extras, plan.conversions);
  const values = builder.build(new SourceRecord(1, fields));
  return Object.fromEntries(builder.columns.map((c, i) => [c, values[i]]));
}
const convert = (conversion: string, value: string, column = ['unix_s', 'unix_ms', 'dmy', 'mdy'].includes(conversion) ? 'occurred_at' : 'amount') =>
  row(['v', ...(column === 'occurred_at' ? [] : ['occurred_at'])], [value, ...(column === 'occurred_at' ? [] : ['2024-01-01'])], { [column]: `v:${conversion}` })[column];

describe('timestamp conversions', () => {
  // 1714521600 = 2024-05-01T00:00:00Z: 19844 days × 86400 s (19844 days from 1970-01-01 to 2024-05-01).
  it('unix seconds and milliseconds become UTC ISO text', () => {
    expect(19844 * 86400).toBe(1714521600);
    expect(convert('unix_s', '1714521600')).toBe('2024-05-01T00:00:00.000Z');
    expect(convert('unix_s', '1714521600.25')).toBe('2024-05-01T00:00:00.250Z');
    expect(convert('unix_s', '0')).toBe('1970-01-01T00:00:00.000Z');
    expect(convert('unix_ms', '1714521600123')).toBe('2024-05-01T00:00:00.123Z');
  });
  it('day-first and month-first dates keep their local time for the load time zone', () => {
    expect(convert('dmy', '31/12/2024 13:05')).toBe('2024-12-31 13:05:00');
    expect(convert('dmy', '1.2.2024')).toBe('2024-02-01');
    expect(convert('mdy', '12/31/2024 1:05:09')).toBe('2024-12-31 01:05:09');
  });
  it('refuses what is not the named format, quoting the value', () => {
    expect(() => convert('unix_s', '2024-05-01')).toThrow('occurred_at: not unix seconds (a whole number such as 1714561200), got "2024-05-01"');
    expect(() => convert('unix_ms', '99999999999999999')).toThrow(/occurred_at: not unix milliseconds/);
    expect(() => convert('unix_s', '-99999999999')).toThrow('occurred_at: out of range for a timestamp, got "-99999999999"');
    // The converted text still meets the timestamp's own calendar check.
    expect(() => convert('dmy', '31/02/2024')).toThrow('occurred_at: not a calendar date (month 1-12, day within the month), got "31/02/2024"');
    expect(() => convert('mdy', '31/12/2024')).toThrow(/not a calendar date/);
  });
});

describe('numeric scaling', () => {
  it('moves the decimal point on the digits, exactly', () => {
    expect(convert('cents', '1999')).toBe('19.99');
    expect(convert('cents', '5')).toBe('0.05');
    expect(convert('cents', '-250')).toBe('-2.50');
    expect(convert('cents', '123456789012')).toBe('1234567890.12');
    // 0.1 + 0.2-style float error cannot happen: 29 cents is 0.29, not 0.29000000000000004.
    expect(convert('cents', '29')).toBe('0.29');
    expect(convert('thousandths', '19990')).toBe('19.990');
  });
  it('refuses fractions of a cent and text', () => {
    expect(() => convert('cents', '19.99')).toThrow('amount: not a whole number of cents, got "19.99"');
    expect(() => convert('cents', 'abc')).toThrow('amount: not a whole number of cents, got "abc"');
  });
  it('leaves a missing value to the column: null, not a conversion error', () => {
    expect(convert('cents', '')).toBeNull();
  });
});

describe('parseSourceSpec', () => {
  it('splits column and conversion at the last colon', () => {
    expect(parseSourceSpec('created:unix_s')).toMatchObject({ column: 'created', conversion: { name: 'unix_s' } });
    expect(parseSourceSpec('a:b:cents')).toMatchObject({ column: 'a:b', conversion: { name: 'cents' } });
    expect(parseSourceSpec('created:unix_sec')).toEqual({ column: 'created', unknownConversion: 'unix_sec' });
  });
  it('takes a header column whose name holds a colon as it is', () => {
    expect(parseSourceSpec('time:utc', (name) => name === 'time:utc')).toEqual({ column: 'time:utc' });
  });
});

describe('quoted values', () => {
  it('are cut to 40 characters', () => {
    const long = 'x'.repeat(100);
    expect(() => convert('cents', long)).toThrow(`amount: not a whole number of cents, got "${'x'.repeat(40)}…"`);
  });
});
