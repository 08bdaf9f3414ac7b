/**
 * Column mapping: how a file's columns (or an object's keys) fill a raw table.
 *
 *   --map user_id=CustomerID     table column <- file column
 *   --set currency=GBP           table column <- constant for every row
 *   --ignore StockCode           file column dropped on purpose
 *
 * A file column with the table column's own name needs no mapping. Columns left
 * over go to the table's extras jsonb column (e.g. events.properties); for a
 * table without one they are an error unless ignored, so nothing is lost
 * silently. All problems are reported together before any row is read.
 */
import { z } from 'zod';
import type { Getter } from './row-builder.ts';
import type { SourceRecord } from './source-record.ts';
import type { TableContract } from './table-contracts.ts';
import { UserError } from '../errors/user-error.js';

export const columnMappingSchema = z.object({
  /** table column -> source column */
  map: z.record(z.string().min(1), z.string().min(1)).default({}),
  /** table column -> constant value */
  set: z.record(z.string().min(1), z.string()).default({}),
  /** source columns to drop */
  ignore: z.array(z.string().min(1)).default([]),
  /**
   * user trait -> source column, for rows of raw.outcomes: the value also lands in
   * properties.user_traits, and core.dim_users takes the latest one as the user's trait
   * (an order file's Country becomes the customer's country).
   */
  user_traits: z.partialRecord(z.enum(['country', 'region', 'city', 'acquisition_channel']), z.string().min(1)).optional(),
});
export type ColumnMapping = z.infer<typeof columnMappingSchema>;

export class MappingError extends UserError {}

/** Parse repeated/comma-separated `a=b` CLI pairs into a record. */
export function parsePairs(values: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (values ?? []).flatMap((v) => v.split(','))) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new MappingError(`${flag} ${JSON.stringify(pair)}: expected <table column>=<value>`);
    out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return out;
}

export interface ColumnPlan {
  getters: Map<string, Getter>;
  /** Returns the leftover source values for the extras column, if any are kept. */
  extras?: (record: SourceRecord) => Record<string, unknown> | undefined;
}

/** For CSV: source columns are the header; getters read fields by index. */
export function planCsvColumns(contract: TableContract, header: string[], mapping: ColumnMapping, file: string): ColumnPlan {
  const problems: string[] = [];
  const { resolved, leftovers } = resolveColumns(contract, header, mapping, problems);
  const getters = new Map<string, Getter>();
  for (const [column, source] of resolved) {
    if (source.constant !== undefined) {
      const constant = source.constant;
      getters.set(column, () => constant);
    } else {
      const index = header.indexOf(source.column!);
      getters.set(column, (record) => record.fields![index]);
    }
  }
  const extras = leftoverExtras(contract, leftovers, problems);
  const traits = traitSources(contract, mapping, problems, (column) => header.includes(column));
  if (problems.length) throw new MappingError(`${file}: cannot load into ${contract.table}:\n  ${problems.join('\n  ')}`);
  if (!extras && traits.length === 0) return { getters };
  const indexes = (extras ?? []).map((name) => [name, header.indexOf(name)] as const);
  const traitIndexes = traits.map(([trait, column]) => [trait, header.indexOf(column)] as const);
  return {
    getters,
    extras: (record) => {
      const out: Record<string, unknown> = {};
      for (const [name, index] of indexes) {
        const value = record.fields![index];
        if (value !== undefined && value !== '') out[name] = value;
      }
      if (traitIndexes.length) out.user_traits = pickTraits(traitIndexes, (index) => record.fields![index]);
      return out;
    },
  };
}

/** For NDJSON objects: keys are not known up front, so leftovers are found per row. */
export function planObjectColumns(contract: TableContract, mapping: ColumnMapping, file: string): ColumnPlan {
  const problems: string[] = [];
  checkTargets(contract, mapping, problems);
  if (problems.length) throw new MappingError(`${file}: cannot load into ${contract.table}:\n  ${problems.join('\n  ')}`);
  const getters = new Map<string, Getter>();
  const used = new Set(mapping.ignore);
  for (const column of contract.columns) {
    if (column.name in mapping.set) {
      const constant = mapping.set[column.name];
      getters.set(column.name, () => constant);
      continue;
    }
    const key = mapping.map[column.name] ?? column.name;
    used.add(key);
    getters.set(column.name, (record) => record.object![key]);
  }
  const traits = traitSources(contract, mapping, problems, () => true);
  if (problems.length) throw new MappingError(`${file}: cannot load into ${contract.table}:\n  ${problems.join('\n  ')}`);
  if (!contract.extrasColumn) return { getters };
  return {
    getters,
    extras: (record) => {
      let out: Record<string, unknown> | undefined;
      for (const key in record.object) {
        if (!used.has(key)) (out ??= {})[key] = record.object[key];
      }
      if (traits.length) (out ??= {}).user_traits = pickTraits(traits, (key) => record.object![key]);
      return out;
    },
  };
}

/** The mapping's user traits as [trait, source] pairs; only raw.outcomes carries them (into properties.user_traits). */
function traitSources(contract: TableContract, mapping: ColumnMapping, problems: string[], exists: (column: string) => boolean): [string, string][] {
  const traits = Object.entries(mapping.user_traits ?? {}) as [string, string][];
  if (traits.length && contract.table !== 'raw.outcomes') problems.push(`user_traits: only rows of raw.outcomes carry user traits, not ${contract.table}`);
  for (const [trait, column] of traits) {
    if (!exists(column)) problems.push(`user_traits ${trait}: ${column}: the file has no column "${column}"`);
  }
  return traits;
}

/** The non-empty trait values of one row, as text. */
function pickTraits<K>(sources: readonly (readonly [string, K])[], read: (source: K) => unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [trait, source] of sources) {
    const value = read(source);
    if (value !== undefined && value !== null && value !== '') out[trait] = String(value);
  }
  return out;
}

interface Source {
  column?: string;
  constant?: string;
}

function checkTargets(contract: TableContract, mapping: ColumnMapping, problems: string[]): void {
  const names = new Set(contract.columns.map((c) => c.name));
  for (const [flag, record] of [['--map', mapping.map], ['--set', mapping.set]] as const) {
    for (const target of Object.keys(record)) {
      if (!names.has(target)) problems.push(`${flag} ${target}=…: ${contract.table} has no column "${target}" (it has ${[...names].join(', ')})`);
    }
  }
}

function resolveColumns(contract: TableContract, header: string[], mapping: ColumnMapping, problems: string[]) {
  checkTargets(contract, mapping, problems);
  const headerSet = new Set(header);
  const duplicates = header.filter((name, i) => header.indexOf(name) !== i);
  if (duplicates.length) problems.push(`the header repeats column(s) ${[...new Set(duplicates)].join(', ')}`);
  for (const ignored of mapping.ignore) {
    if (!headerSet.has(ignored)) problems.push(`--ignore ${ignored}: the file has no such column`);
  }
  const resolved = new Map<string, Source>();
  const used = new Set<string>(mapping.ignore);
  for (const column of contract.columns) {
    if (column.name in mapping.set) {
      resolved.set(column.name, { constant: mapping.set[column.name] });
      continue;
    }
    const mapped = mapping.map[column.name];
    if (mapped !== undefined) {
      if (!headerSet.has(mapped)) {
        problems.push(`--map ${column.name}=${mapped}: the file has no column "${mapped}" (header: ${header.join(', ')})`);
      }
      resolved.set(column.name, { column: mapped });
      used.add(mapped);
    } else if (headerSet.has(column.name)) {
      resolved.set(column.name, { column: column.name });
      used.add(column.name);
    } else if (column.required) {
      problems.push(`required column "${column.name}" has no source: add --map ${column.name}=<file column> or --set ${column.name}=<value>`);
    }
  }
  return { resolved, leftovers: header.filter((name) => !used.has(name)) };
}

function leftoverExtras(contract: TableContract, leftovers: string[], problems: string[]): string[] | undefined {
  if (leftovers.length === 0) return undefined;
  if (contract.extrasColumn) return leftovers;
  problems.push(
    `file column(s) ${leftovers.join(', ')} have no place in ${contract.table}: map them with --map <column>=<file column> or drop them with --ignore`,
  );
  return undefined;
}
