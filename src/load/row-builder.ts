/**
 * Turns a SourceRecord into the COPY values of one raw table: each contract
 * column gets a getter (a CSV field index, an object key, a tracking-call path or a
 * constant) and its type's parser. Source columns with no place of their own are
 * gathered into the table's extras jsonb column.
 */
import { RowRejection, type SourceRecord } from './source-record.ts';
import type { TableContract } from './table-contracts.ts';
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
): TableRowBuilder {
  const steps = contract.columns.map((column) => {
    const parse = parserFor(column);
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
          if (error instanceof ValueError) throw new RowRejection(error.message, step.name);
          throw error;
        }
      }
      return values;
    },
  };
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
