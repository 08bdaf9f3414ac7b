import { describe, expect, it } from 'vitest';
import { MappingError, parsePairs, planCsvColumns } from '../../src/load/column-mapping.ts';
import { compileRowBuilder } from '../../src/load/row-builder.ts';
import { SourceRecord } from '../../src/load/source-record.ts';
import { contractFor } from '../../src/load/table-contracts.ts';

const outcomes = contractFor('outcomes');
const none = { map: {}, set: {}, ignore: [] };

describe('parsePairs', () => {
  it('reads repeated and comma-separated pairs', () => {
    expect(parsePairs(['user_id=CustomerID,occurred_at=InvoiceDate', 'currency=GBP'], '--map')).toEqual({
      user_id: 'CustomerID',
      occurred_at: 'InvoiceDate',
      currency: 'GBP',
    });
  });
  it('names the bad pair', () => {
    expect(() => parsePairs(['user_id'], '--map')).toThrow('--map "user_id": expected <table column>=<value>');
  });
});

describe('planCsvColumns', () => {
  it('maps renamed columns, sets constants and keeps leftovers in the extras column', () => {
    const header = ['InvoiceNo', 'CustomerID', 'InvoiceDate', 'Country'];
    const plan = planCsvColumns(outcomes, header, { map: { order_id: 'InvoiceNo', user_id: 'CustomerID', occurred_at: 'InvoiceDate' }, set: { currency: 'GBP' }, ignore: [] }, 'f.csv');
    const builder = compileRowBuilder(outcomes, plan.getters, plan.extras);
    const values = builder.build(new SourceRecord(1, ['536365', '17850', '2010-12-01 08:26:00', 'United Kingdom']));
    const row = Object.fromEntries(builder.columns.map((c, i) => [c, values[i]]));
    expect(row).toMatchObject({ order_id: '536365', user_id: '17850', occurred_at: '2010-12-01 08:26:00', currency: 'GBP', properties: '{"Country":"United Kingdom"}' });
  });

  it('puts the columns a mapping names as user traits into properties.user_traits too', () => {
    const header = ['InvoiceNo', 'CustomerID', 'InvoiceDate', 'Country'];
    const mapping = { map: { order_id: 'InvoiceNo', user_id: 'CustomerID', occurred_at: 'InvoiceDate' }, set: {}, ignore: [], user_traits: { country: 'Country' } };
    const plan = planCsvColumns(outcomes, header, mapping, 'f.csv');
    const builder = compileRowBuilder(outcomes, plan.getters, plan.extras);
    const row = (fields: string[]) => Object.fromEntries(builder.columns.map((c, i) => [c, builder.build(new SourceRecord(1, fields))[i]]));
    expect(JSON.parse(row(['536365', '17850', '2010-12-01 08:26:00', 'France']).properties as string)).toEqual({ Country: 'France', user_traits: { country: 'France' } });
    // An empty value is no trait: the user's country then comes from another row or source.
    expect(JSON.parse(row(['536365', '17850', '2010-12-01 08:26:00', '']).properties as string)).toEqual({ user_traits: {} });
    expect(() => planCsvColumns(outcomes, header, { ...mapping, user_traits: { country: 'Land' } }, 'f.csv')).toThrow('user_traits country: Land: the file has no column "Land"');
    expect(() => planCsvColumns(contractFor('costs'), ['user_id', 'Country'], { ...none, user_traits: { country: 'Country' } }, 'c.csv')).toThrow('user_traits: only rows of raw.outcomes carry user traits, not raw.costs');
  });

  it('reports every problem at once, naming flags and columns', () => {
    const attempt = () => planCsvColumns(contractFor('costs'), ['uid', 'start', 'extra'], { map: { user_id: 'uid', nope: 'x', period_end: 'missing' }, set: {}, ignore: [] }, 'costs.csv');
    expect(attempt).toThrow(MappingError);
    let message = '';
    try {
      attempt();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('costs.csv: cannot load into raw.costs');
    expect(message).toContain('--map nope=…: raw.costs has no column "nope"');
    expect(message).toContain('--map period_end=missing: the file has no column "missing"');
    expect(message).toContain('required column "period_start" has no source');
    expect(message).toContain('file column(s) start, extra have no place in raw.costs');
  });

  it('names the field of a bad value', () => {
    const plan = planCsvColumns(outcomes, ['occurred_at', 'amount'], none, 'f.csv');
    const builder = compileRowBuilder(outcomes, plan.getters, plan.extras);
    expect(() => builder.build(new SourceRecord(1, ['2024-01-01', 'ten']))).toThrow('amount: not a number');
  });
});
