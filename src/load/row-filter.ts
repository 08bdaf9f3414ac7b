/**
 * Row filters: which source rows a load takes at all, by the value of a source column.
 *
 *   --where status=succeeded            keep rows whose status is succeeded
 *   --where status=paid|succeeded       ... is one of these
 *   --where status!=failed              drop rows whose status is failed
 *
 * In a mapping file: `where: { status: succeeded }` (or a list) and `where_not: { status: failed }`.
 * A filtered row is neither loaded nor quarantined: the batch counts it as filtered, so
 * rows in = loaded + quarantined + filtered still balances. Values compare as exact text.
 */
import type { SourceRecord } from './source-record.ts';

export interface RowFilters {
  /** source column -> values a kept row has (any of them) */
  where: Record<string, string[]>;
  /** source column -> values that drop a row */
  whereNot: Record<string, string[]>;
}

export const NO_FILTERS: RowFilters = { where: {}, whereNot: {} };

export function hasFilters(filters: RowFilters): boolean {
  return Object.keys(filters.where).length > 0 || Object.keys(filters.whereNot).length > 0;
}

/** Parses repeated `--where column=a|b` / `--where column!=a` flags; `invalid` names a bad one. */
export function parseWhereFlags(values: string[] | undefined, invalid: (flag: string) => Error): RowFilters {
  const filters: RowFilters = { where: {}, whereNot: {} };
  for (const flag of values ?? []) {
    const match = /^([^!=]+?)\s*(!?=)\s*(.*)$/.exec(flag);
    if (!match || match[3] === undefined) throw invalid(flag);
    const [, column, operator, list] = match;
    const target = operator === '=' ? filters.where : filters.whereNot;
    target[column!.trim()] = [...(target[column!.trim()] ?? []), ...list!.split('|')];
  }
  return filters;
}

/** Text of a source value as a filter compares it. */
function asText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A predicate over records, given how to read a source column from one. */
export function compileRowFilter(filters: RowFilters, read: (column: string) => (record: SourceRecord) => unknown): ((record: SourceRecord) => boolean) | undefined {
  if (!hasFilters(filters)) return undefined;
  const keep = Object.entries(filters.where).map(([column, values]) => ({ get: read(column), values: new Set(values) }));
  const drop = Object.entries(filters.whereNot).map(([column, values]) => ({ get: read(column), values: new Set(values) }));
  return (record) => {
    for (const test of keep) {
      const value = asText(test.get(record));
      if (value === undefined || !test.values.has(value)) return false;
    }
    for (const test of drop) {
      const value = asText(test.get(record));
      if (value !== undefined && test.values.has(value)) return false;
    }
    return true;
  };
}
