/**
 * Turns a SourceRecord into the COPY values of one raw table: each contract
 * column gets a getter (a CSV field index, an object key, a tracking-call path or a
 * constant) and its type's parser. Source columns with no place of their own are
 * gathered into the table's extras jsonb column. A value that fails its check is
 * quarantined with the reason and the value itself, quoted and cut to QUOTED_LENGTH.
 */
import { RowRejection, type SourceRecord } from './source-record.ts';
import type { TableContract } from './table-contracts.ts';
import type { Conversion } from './value-conversions.ts';
import { parserFor, ValueError } from './value-parsers.ts';

export type Getter = (record: SourceRecord) => unknown;

export interface TableRowBuilder {
  table: string;
  /** Contract columns in COPY order (lineage columns are appended by the writer). */
  columns: string[];
  /** COPY values for the record; throws RowRejection naming the field at fault. */
  build(record: SourceRecord): (string | null)[];
}

export function compileRowBuilder(
  contract: TableContract,
  getters: ReadonlyMap<string, Getter>,
  extras?: (record: SourceRecord) => Record<string, unknown> | undefined,
  conversions: ReadonlyMap<string, Conversion> = new Map(),
): TableRowBuilder {
  const steps = contract.columns.map((column) => {
    const check = parserFor(column);
    const conversion = conversions.get(column.name);
    // A conversion sees only present values; missing ones keep the column's own rule.
    const parse = conversion
      ? (value: unknown) => check(value === null || value === undefined || value === '' ? value : conversion.convert(String(value)))
      : check;
    const get = getters.get(column.name);
    const isExtras = extras !== undefined && column.name === contract.extrasColumn;
    return { name: column.name, parse, get, isExtras };
  });

  return {
    table: contract.table,
    columns: contract.columns.map((c) => c.name),
    build(record) {
      const values = new Array<string | null>(steps.length);
      for (let i = 0; i < steps.length; i++) {
        const step = steps[i]!;
        let value = step.get ? step.get(record) : undefined;
        if (step.isExtras) value = mergeExtras(value, extras!(record), step.name);
        try {
          values[i] = step.parse(value);
        } catch (error) {
          if (error instanceof ValueError) throw new RowRejection(error.message, step.name, quoteValue(value));
          throw error;
        }
      }
      return values;
    },
  };
}

/** Quoted values are cut here: enough to recognise the value, not a copy of the row. */
export const QUOTED_LENGTH = 40;

/** The refused value as a reason quotes it: `"yesterday"`, cut to QUOTED_LENGTH. */
function quoteValue(value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return JSON.stringify(text.length > QUOTED_LENGTH ? `${text.slice(0, QUOTED_LENGTH)}…` : text);
}

function mergeExtras(direct: unknown, extra: Record<string, unknown> | undefined, column: string): unknown {
  if (!extra || Object.keys(extra).length === 0) return direct;
  if (direct === undefined || direct === null || direct === '') return extra;
  let base: unknown = direct;
  if (typeof direct === 'string') {
    try {
      base = JSON.parse(direct);
    } catch {
      throw new RowRejection('not valid JSON', column);
    }
  }
  if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new RowRejection('expected a JSON object', column);
  return { ...extra, ...(base as Record<string, unknown>) };
}
