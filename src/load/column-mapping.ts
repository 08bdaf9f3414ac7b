/**
 * Column mapping: how a file's columns (or an object's keys) fill a raw table.
 *
 *   --map user_id=CustomerID           table column <- file column
 *   --map occurred_at=created:unix_s   ... through a conversion (value-conversions.ts)
 *   --set currency=GBP                 table column <- constant for every row
 *   --ignore StockCode                 file column dropped on purpose
 *   --where status=succeeded           rows taken at all (row-filter.ts)
 *
 * A file column with the table column's own name needs no mapping. Columns left
 * over go to the table's extras jsonb column (e.g. events.properties); for a
 * table without one they are an error unless ignored, so nothing is lost
 * silently. All problems are reported together before any row is read, each
 * named where it was written: the flag, or the mapping file's line and key.
 */
import { z } from 'zod';
import type { Getter } from './row-builder.ts';
import { compileRowFilter, type RowFilters } from './row-filter.ts';
import type { SourceRecord } from './source-record.ts';
import type { TableContract } from './table-contracts.ts';
import { CONVERSION_NAMES, parseSourceSpec, type Conversion } from './value-conversions.ts';
import { UserError } from '../errors/user-error.js';

const valueOrList = z.union([z.string(), z.array(z.string()).min(1)]);

export const columnMappingSchema = z.object({
  /** table column -> source column, optionally `column:conversion` */
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
  /** source column -> the value (or values) a row must have to be loaded */
  where: z.record(z.string().min(1), valueOrList).optional(),
  /** source column -> values that keep a row out of the load */
  where_not: z.record(z.string().min(1), valueOrList).optional(),
});

export interface ColumnMapping {
  map: Record<string, string>;
  set: Record<string, string>;
  ignore: string[];
  /** user trait -> source column (raw.outcomes only); see the schema above */
  user_traits?: z.infer<typeof columnMappingSchema>['user_traits'];
  where?: Record<string, string | string[]>;
  where_not?: Record<string, string | string[]>;
  /**
   * Where each entry was written, keyed `map.user_id`, `ignore.Notes`, `where.status`:
   * a mapping file's `file:line:column key`. Entries without one came from flags.
   */
  origins?: Record<string, string>;
}

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

/** A mapping file's entries with the flags' on top; an entry a flag replaces loses its file origin. */
export function mergeMappings(base: ColumnMapping | undefined, flags: ColumnMapping): ColumnMapping {
  const origins = { ...base?.origins };
  for (const kind of ['map', 'set', 'where', 'where_not'] as const) {
    for (const key of Object.keys(flags[kind] ?? {})) delete origins[`${kind}.${key}`];
  }
  return {
    map: { ...base?.map, ...flags.map },
    set: { ...base?.set, ...flags.set },
    ignore: [...(base?.ignore ?? []), ...flags.ignore],
    where: { ...base?.where, ...flags.where },
    where_not: { ...base?.where_not, ...flags.where_not },
    origins,
  };
}

export function filtersOf(mapping: ColumnMapping): RowFilters {
  const lists = (record: Record<string, string | string[]> | undefined) =>
    Object.fromEntries(Object.entries(record ?? {}).map(([column, values]) => [column, typeof values === 'string' ? [values] : values]));
  return { where: lists(mapping.where), whereNot: lists(mapping.where_not) };
}

type Kind = 'map' | 'set' | 'ignore' | 'where' | 'where_not';

/** How to name an entry in a problem: its place in the mapping file, else the flag that set it. */
function label(mapping: ColumnMapping, kind: Kind, key: string, value = '…'): string {
  const origin = mapping.origins?.[`${kind}.${key}`];
  if (origin) return origin;
  if (kind === 'ignore') return `--ignore ${key}`;
  if (kind === 'where') return `--where ${key}=…`;
  if (kind === 'where_not') return `--where ${key}!=…`;
  return `--${kind} ${key}=${value}`;
}

export interface ColumnPlan {
  getters: Map<string, Getter>;
  /** Conversions applied to a column's source value before its type is checked. */
  conversions: Map<string, Conversion>;
  /** Returns the leftover source values for the extras column, if any are kept. */
  extras?: (record: SourceRecord) => Record<string, unknown> | undefined;
  /** False for a row the filters leave out; absent when there are no filters. */
  keep?: (record: SourceRecord) => boolean;
  /**
   * CSV only: every file column is the table column of its own name, taken as
   * written (no map, set, ignore, conversion, extras or traits). These are
   * the table columns in file order, so a row can go to COPY as its own text.
   */
  verbatimColumns?: string[];
}

/** For CSV: source columns are the header; getters read fields by index. */
export function planCsvColumns(contract: TableContract, header: string[], mapping: ColumnMapping, file: string): ColumnPlan {
  const problems: string[] = [];
  const headerSet = new Set(header);
  const { resolved, leftovers, conversions } = resolveColumns(contract, header, mapping, problems);
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
  const filters = filtersOf(mapping);
  for (const [kind, record] of [['where', filters.where], ['where_not', filters.whereNot]] as const) {
    for (const column of Object.keys(record)) {
      if (!headerSet.has(column)) problems.push(`${label(mapping, kind, column)}: the file has no column "${column}" (header: ${header.join(', ')})`);
    }
  }
  const keep = compileRowFilter(filters, (column) => {
    const index = header.indexOf(column);
    return (record) => record.fields![index];
  });
  const extras = leftoverExtras(contract, leftovers, problems);
  const traits = traitSources(contract, mapping, problems, (column) => header.includes(column));
  if (problems.length) throw new MappingError(`${file}: cannot load into ${contract.table}:\n  ${problems.join('\n  ')}`);
  if (!extras && traits.length === 0) {
    const asWritten = Object.keys(mapping.map).length + Object.keys(mapping.set).length + mapping.ignore.length + conversions.size === 0;
    return { getters, conversions, keep, ...(asWritten ? { verbatimColumns: [...header] } : {}) };
  }
  const indexes = (extras ?? []).map((name) => [name, header.indexOf(name)] as const);
  const traitIndexes = traits.map(([trait, column]) => [trait, header.indexOf(column)] as const);
  return {
    getters,
    conversions,
    keep,
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
  const getters = new Map<string, Getter>();
  const conversions = new Map<string, Conversion>();
  const used = new Set(mapping.ignore);
  for (const column of contract.columns) {
    if (column.name in mapping.set) {
      const constant = mapping.set[column.name];
      getters.set(column.name, () => constant);
      continue;
    }
    const spec = mapping.map[column.name];
    const source = spec === undefined ? { column: column.name } : parseSourceSpec(spec);
    if (spec !== undefined) checkConversion(contract, column.name, source, label(mapping, 'map', column.name, spec), conversions, problems);
    const key = source.column;
    used.add(key);
    getters.set(column.name, (record) => record.object![key]);
  }
  const traits = traitSources(contract, mapping, problems, () => true);
  if (problems.length) throw new MappingError(`${file}: cannot load into ${contract.table}:\n  ${problems.join('\n  ')}`);
  const keep = compileRowFilter(filtersOf(mapping), (key) => (record) => record.object![key]);
  if (!contract.extrasColumn) return { getters, conversions, keep };
  return {
    getters,
    conversions,
    keep,
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
    if (!exists(column)) problems.push(`${mapping.origins?.[`user_traits.${trait}`] ?? `user_traits ${trait}: ${column}`}: the file has no column "${column}"`);
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
  for (const [kind, record] of [['map', mapping.map], ['set', mapping.set]] as const) {
    for (const target of Object.keys(record)) {
      if (!names.has(target)) problems.push(`${label(mapping, kind, target)}: ${contract.table} has no column "${target}" (it has ${[...names].join(', ')})`);
    }
  }
}

/** A conversion must exist and make values of the column's type. */
function checkConversion(
  contract: TableContract,
  columnName: string,
  source: ReturnType<typeof parseSourceSpec>,
  where: string,
  conversions: Map<string, Conversion>,
  problems: string[],
): void {
  if (source.unknownConversion !== undefined) {
    problems.push(`${where}: unknown conversion "${source.unknownConversion}" (known: ${CONVERSION_NAMES.join(', ')})`);
    return;
  }
  if (!source.conversion) return;
  const column = contract.columns.find((c) => c.name === columnName);
  if (column && column.type !== source.conversion.type) {
    problems.push(`${where}: ${source.conversion.name} makes ${source.conversion.type} values but ${contract.table}.${columnName} is ${column.type}`);
    return;
  }
  conversions.set(columnName, source.conversion);
}

function resolveColumns(contract: TableContract, header: string[], mapping: ColumnMapping, problems: string[]) {
  checkTargets(contract, mapping, problems);
  const headerSet = new Set(header);
  const duplicates = header.filter((name, i) => header.indexOf(name) !== i);
  if (duplicates.length) problems.push(`the header repeats column(s) ${[...new Set(duplicates)].join(', ')}`);
  for (const ignored of mapping.ignore) {
    if (!headerSet.has(ignored)) problems.push(`${label(mapping, 'ignore', ignored)}: the file has no such column`);
  }
  const resolved = new Map<string, Source>();
  const conversions = new Map<string, Conversion>();
  const used = new Set<string>(mapping.ignore);
  for (const column of contract.columns) {
    if (column.name in mapping.set) {
      resolved.set(column.name, { constant: mapping.set[column.name] });
      continue;
    }
    const spec = mapping.map[column.name];
    if (spec !== undefined) {
      const where = label(mapping, 'map', column.name, spec);
      const source = parseSourceSpec(spec, (name) => headerSet.has(name));
      checkConversion(contract, column.name, source, where, conversions, problems);
      if (!headerSet.has(source.column)) {
        problems.push(`${where}: the file has no column "${source.column}" (header: ${header.join(', ')})`);
      }
      resolved.set(column.name, { column: source.column });
      used.add(source.column);
    } else if (headerSet.has(column.name)) {
      resolved.set(column.name, { column: column.name });
      used.add(column.name);
    } else if (column.required) {
      problems.push(`required column "${column.name}" has no source: add --map ${column.name}=<file column> or --set ${column.name}=<value>`);
    }
  }
  return { resolved, conversions, leftovers: header.filter((name) => !used.has(name)) };
}

function leftoverExtras(contract: TableContract, leftovers: string[], problems: string[]): string[] | undefined {
  if (leftovers.length === 0) return undefined;
  if (contract.extrasColumn) return leftovers;
  problems.push(
    `file column(s) ${leftovers.join(', ')} have no place in ${contract.table}: map them with --map <column>=<file column> or drop them with --ignore`,
  );
  return undefined;
}
