import { describe, expect, it } from 'vitest';
import { MappingError, planCsvColumns } from '../../src/load/column-mapping.ts';
import { readMappingFile } from '../../src/load/mapping-file.ts';
import { contractFor } from '../../src/load/table-contracts.ts';
import { fixture } from '../support/fixture-files.ts';

describe('readMappingFile', () => {
  it('reads into, timezone and the column mapping', () => {
    const path = fixture('ok.yml', 'into: raw.outcomes\ntimezone: Europe/London\nmap:\n  user_id: CustomerID\nset:\n  currency: GBP\n');
    expect(readMappingFile(path)).toEqual({
      into: 'raw.outcomes', timezone: 'Europe/London',
      mapping: {
        map: { user_id: 'CustomerID' }, set: { currency: 'GBP' }, ignore: [],
        origins: { 'map.user_id': `${path}:4:12 map.user_id`, 'set.currency': `${path}:6:13 set.currency` },
      },
    });
  });

  it('reads row filters and conversions', () => {
    const path = fixture('stripe.yml', 'into: outcomes\nmap:\n  occurred_at: created:unix_s\nwhere:\n  status: succeeded\nwhere_not:\n  currency: [xxx, yyy]\n');
    expect(readMappingFile(path).mapping).toMatchObject({ map: { occurred_at: 'created:unix_s' }, where: { status: 'succeeded' }, where_not: { currency: ['xxx', 'yyy'] } });
  });

  it('names the file, line and key of an entry the loaded file cannot satisfy, not a command-line flag', () => {
    const path = fixture('wrong-column.yml', 'into: raw.outcomes\nmap:\n  user_id: customer\n  occurred_at: created:unix_sec\n  amount: amount:unix_s\nignore: [Notes]\nwhere:\n  state: paid\n');
    const { mapping } = readMappingFile(path);
    const attempt = () => planCsvColumns(contractFor('outcomes'), ['cust', 'created', 'amount', 'status'], mapping, 'charges.csv');
    expect(attempt).toThrow(MappingError);
    const message = (() => { try { attempt(); } catch (error) { return (error as Error).message; } return ''; })();
    expect(message).toContain(`${path}:3:12 map.user_id: the file has no column "customer" (header: cust, created, amount, status)`);
    expect(message).toContain(`${path}:4:16 map.occurred_at: unknown conversion "unix_sec" (known: unix_s, unix_ms, dmy, mdy, cents, thousandths)`);
    expect(message).toContain(`${path}:5:11 map.amount: unix_s makes timestamptz values but raw.outcomes.amount is numeric`);
    expect(message).toContain(`${path}:6:10 ignore[0]: the file has no such column`);
    expect(message).toContain(`${path}:8:10 where.state: the file has no column "state"`);
    expect(message).not.toContain('--map');
  });

  it('reads user traits, and names an unknown trait with its line', () => {
    const path = fixture('traits.yml', 'into: raw.outcomes\nuser_traits:\n  country: Country\n');
    expect(readMappingFile(path).mapping).toEqual({ map: {}, set: {}, ignore: [], user_traits: { country: 'Country' }, origins: { 'user_traits.country': `${path}:3:12 user_traits.country` } });
    const bad = fixture('bad-trait.yml', 'into: raw.outcomes\nuser_traits:\n  shoe_size: Size\n');
    expect(() => readMappingFile(bad)).toThrow(/bad-trait\.yml:3/);
  });

  it('takes the deprecated format name "segment" as tracking-calls, and says so with file:line', () => {
    const path = fixture('old-format.yml', 'timezone: UTC\nformat: segment\n');
    const warnings: string[] = [];
    expect(readMappingFile(path, (message) => warnings.push(message))).toMatchObject({ format: 'tracking-calls' });
    expect(warnings).toEqual([`${path}:2: format "segment" is deprecated, use "tracking-calls" (a Segment/RudderStack export of tracking calls)`]);
  });

  it('refuses an unknown format', () => {
    const path = fixture('no-format.yml', 'format: parquet\n');
    expect(() => readMappingFile(path)).toThrow(`${path}:1:9 format: Invalid option`);
  });

  it('names file, line and field of a wrong value', () => {
    const path = fixture('bad.yml', 'into: raw.outcomes\nmap:\n  user_id: CustomerID\n  quantity: 12\nignore: Notes\n');
    expect(() => readMappingFile(path)).toThrow(`invalid mapping file:\n  ${path}:4:13 map.quantity: Invalid input: expected string, received number\n  ${path}:5:9 ignore: Invalid input: expected array, received string`);
  });

  it('names an unknown key with its line', () => {
    const path = fixture('typo.yml', 'into: raw.outcomes\ntimezon: UTC\n');
    expect(() => readMappingFile(path)).toThrow(`${path}:2:1 timezon: unknown key`);
  });

  it('reports broken YAML with its line', () => {
    const path = fixture('broken.yml', 'into: raw.outcomes\nmap: [unclosed\n');
    expect(() => readMappingFile(path)).toThrow(new RegExp(`${path}:\\d+:\\d+: not valid YAML`));
  });

  it('refuses YAML aliases with their line, before expanding them', () => {
    const path = fixture('alias.yml', 'into: raw.outcomes\nmap: &m\n  user_id: CustomerID\nset: *m\n');
    expect(() => readMappingFile(path)).toThrow(`${path}:4: YAML aliases (*m) are not accepted; write the value out`);
  });
});
