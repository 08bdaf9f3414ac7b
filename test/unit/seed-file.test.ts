import { describe, expect, expectTypeOf, it } from 'vitest';
import { readSeed, seedPath, SeedFileError } from '../../src/seeds/seed-file.ts';
import { csv, fixture } from '../support/fixture-files.ts';

const RATE_COLUMNS = { currency: 'text', usd_per_unit: 'number' } as const;

describe('readSeed', () => {
  it('reads typed rows, columns in any order', () => {
    const path = fixture('rates.csv', csv('usd_per_unit,currency', '1,USD', '0.005,XYZ', '"2.5","ABC"'));
    const rows = readSeed(path, RATE_COLUMNS);
    expect(rows).toEqual([
      { currency: 'USD', usd_per_unit: 1 },
      { currency: 'XYZ', usd_per_unit: 0.005 },
      { currency: 'ABC', usd_per_unit: 2.5 },
    ]);
    expectTypeOf(rows).toEqualTypeOf<{ currency: string; usd_per_unit: number }[]>();
  });

  it('names file:line and column of a value that is not a number, and every other problem', () => {
    const path = fixture('bad-number.csv', csv('currency,usd_per_unit', 'USD,1', 'ABC,2,5', 'XYZ,0.5x', 'DEF,'));
    expect(() => readSeed(path, RATE_COLUMNS)).toThrow(new SeedFileError([
      `${path}:3: 3 values, expected 2 (currency,usd_per_unit)`,
      `${path}:4: usd_per_unit: "0.5x" is not a number (expected a plain decimal such as 1.08)`,
      `${path}:5: usd_per_unit: empty value`,
    ].join('\n')));
  });

  it('refuses a header without a declared column', () => {
    const path = fixture('missing-column.csv', csv('currency,rate', 'USD,1'));
    expect(() => readSeed(path, RATE_COLUMNS)).toThrow(
      `${path}:1: missing column "usd_per_unit" (header: currency,rate)\n${path}:1: unknown column "rate" (expected: currency,usd_per_unit)`,
    );
  });

  it('refuses a blank line and a file without rows', () => {
    expect(() => readSeed(fixture('blank.csv', csv('currency,usd_per_unit', 'USD,1', '', 'ABC,2.5')), RATE_COLUMNS)).toThrow(/blank\.csv:3: blank line$/);
    expect(() => readSeed(fixture('empty.csv', csv('currency,usd_per_unit')), RATE_COLUMNS)).toThrow(/empty\.csv: no rows after the header$/);
  });

  it('reads the committed fx_rates seed: one rate per currency, USD at 1', () => {
    const rows = readSeed(seedPath('fx_rates'), RATE_COLUMNS);
    expect(new Set(rows.map((r) => r.currency)).size).toBe(rows.length);
    expect(rows).toContainEqual({ currency: 'USD', usd_per_unit: 1 });
  });
});
