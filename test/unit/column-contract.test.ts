import { describe, expect, it } from 'vitest';
import { compareColumns, normalizeType, typeSatisfies } from '../../src/models/column-contract.ts';

const declared = (columns: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(columns).map(([name, type]) => [name, { type, description: name, tests: [] }]));

describe('type normalization', () => {
  it.each([
    ['int8', 'bigint'],
    ['INT', 'integer'],
    ['int4', 'integer'],
    ['timestamptz', 'timestamp with time zone'],
    ['timestamp', 'timestamp without time zone'],
    ['varchar', 'character varying'],
    ['bool', 'boolean'],
    ['decimal', 'numeric'],
    ['text[]', 'text[]'],
    ['_', '_'],
  ])('%s is %s', (alias, canonical) => expect(normalizeType(alias).base).toBe(canonical));

  it('keeps modifiers apart from the name, wherever PostgreSQL prints them', () => {
    expect(normalizeType('NUMERIC(12, 2)')).toEqual({ base: 'numeric', modifier: '12,2' });
    expect(normalizeType('timestamp(3) with time zone')).toEqual({ base: 'timestamp with time zone', modifier: '3' });
    expect(normalizeType('character varying(20)[]')).toEqual({ base: 'character varying[]', modifier: '20' });
  });

  it('a declaration without a modifier accepts any; one with a modifier needs the same', () => {
    expect(typeSatisfies('numeric', 'numeric(12,2)')).toBe(true);
    expect(typeSatisfies('numeric(12,2)', 'numeric')).toBe(false);
    expect(typeSatisfies('varchar(20)', 'character varying(20)')).toBe(true);
    expect(typeSatisfies('integer', 'bigint')).toBe(false);
    expect(typeSatisfies('text', 'character varying')).toBe(false);
    expect(typeSatisfies('text', 'text[]')).toBe(false);
  });
});

describe('comparing columns', () => {
  it('matching columns (in any order) give no issues', () => {
    expect(compareColumns(declared({ a: 'int8', b: undefined }), [{ name: 'b', type: 'jsonb' }, { name: 'a', type: 'bigint' }])).toEqual([]);
  });

  it('a rename names the declared and the built column', () => {
    const issues = compareColumns(declared({ a: undefined, b: undefined }), [{ name: 'a', type: 'text' }, { name: 'c', type: 'text' }]);
    expect(issues.map((i) => i.message)).toEqual([
      'declared column "b" is not built (built but not declared: "c" text)',
      'built column "c" (text) is not declared (declared but not built: "b")',
    ]);
    expect(issues.map((i) => i.code)).toEqual(['missing_column', 'undeclared_column']);
  });

  it('a type change names both types', () => {
    expect(compareColumns(declared({ a: 'numeric' }), [{ name: 'a', type: 'text' }])).toEqual([
      { code: 'type_mismatch', column: 'a', declared: 'numeric', built: 'text', message: 'column "a" is declared numeric but built as text' },
    ]);
  });
});
