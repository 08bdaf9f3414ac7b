import { describe, expect, it } from 'vitest';
import { compileRowFilter, parseWhereFlags } from '../../src/load/row-filter.ts';
import { SourceRecord } from '../../src/load/source-record.ts';

const invalid = (flag: string) => new Error(`bad ${flag}`);
const header = ['id', 'status'];
const keepOf = (flags: string[]) => compileRowFilter(parseWhereFlags(flags, invalid), (column) => (record) => record.fields[header.indexOf(column)])!;
const rec = (status: string) => new SourceRecord(1, ['x', status]);

describe('row filters', () => {
  it('keeps rows with one of the values', () => {
    const keep = keepOf(['status=paid|succeeded']);
    expect(['paid', 'succeeded', 'failed', ''].map((s) => keep(rec(s)))).toEqual([true, true, false, false]);
  });
  it('leaves out rows with a != value, and combines filters with and', () => {
    const keep = keepOf(['status!=failed', 'id=x']);
    expect(['paid', 'failed'].map((s) => keep(rec(s)))).toEqual([true, false]);
  });
  it('is absent when there is nothing to filter', () => {
    expect(compileRowFilter(parseWhereFlags([], invalid), () => () => undefined)).toBeUndefined();
  });
  it('refuses a flag that is not column=value', () => {
    expect(() => parseWhereFlags(['status'], invalid)).toThrow('bad status');
    expect(() => parseWhereFlags(['=paid'], invalid)).toThrow('bad =paid');
  });
});
