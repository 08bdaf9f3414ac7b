/**
 * A model's declared `columns` are a contract with the relation it builds:
 * the same column names, and the declared type where one is given. It is
 * checked on the freshly built relation, before anything is published, so a
 * model whose SQL drifted from its declaration fails and the previous version
 * stays. Comparing is pure; only reading the built columns needs PostgreSQL.
 */
import type { Knex } from 'knex';
import type { Model } from './model-discovery.ts';

export interface BuiltColumn {
  name: string;
  /** As PostgreSQL's format_type() prints it, e.g. `numeric(12,2)`, `timestamp with time zone`. */
  type: string;
}

export type ContractIssue =
  | { code: 'missing_column'; column: string; message: string }
  | { code: 'undeclared_column'; column: string; message: string }
  | { code: 'type_mismatch'; column: string; declared: string; built: string; message: string };

export class ColumnContractError extends Error {
  override name = 'ColumnContractError';
  constructor(
    readonly model: string,
    readonly issues: ContractIssue[],
  ) {
    super(`the built columns break the declared contract: ${issues.map((i) => i.message).join('; ')}; the previous version stays published`);
  }
}

/** Spellings PostgreSQL accepts for one type, mapped to the name format_type() prints. */
const ALIASES: Record<string, string> = {
  int: 'integer',
  int4: 'integer',
  int8: 'bigint',
  int2: 'smallint',
  serial: 'integer',
  bigserial: 'bigint',
  float8: 'double precision',
  float: 'double precision',
  float4: 'real',
  bool: 'boolean',
  decimal: 'numeric',
  varchar: 'character varying',
  char: 'character',
  bpchar: 'character',
  timestamptz: 'timestamp with time zone',
  timestamp: 'timestamp without time zone',
  timetz: 'time with time zone',
  time: 'time without time zone',
};

export interface NormalizedType {
  /** Canonical name without modifiers, `[]` kept: `numeric`, `character varying[]`. */
  base: string;
  /** The modifier as written between parentheses, e.g. `12,2`; undefined if none. */
  modifier?: string;
}

/** `NUMERIC(12, 2)` -> { base: 'numeric', modifier: '12,2' }; `timestamptz` -> timestamp with time zone. */
export function normalizeType(type: string): NormalizedType {
  let t = type.trim().toLowerCase().replace(/\s+/g, ' ');
  let array = '';
  while (t.endsWith('[]')) {
    array += '[]';
    t = t.slice(0, -2).trim();
  }
  const modifierMatch = /\(([^)]*)\)/.exec(t);
  const modifier = modifierMatch ? modifierMatch[1]!.replace(/\s+/g, '') : undefined;
  t = t.replace(/\s*\([^)]*\)\s*/, ' ').trim().replace(/\s+/g, ' ');
  if (t === 'timestamp with time zone' || t === 'time with time zone') return { base: t + array, modifier };
  return { base: (ALIASES[t] ?? t) + array, modifier };
}

/**
 * Whether a built type satisfies a declared one: the same type, and the same
 * modifier when the declaration gives one (`numeric` accepts `numeric(12,2)`,
 * `numeric(12,2)` does not accept `numeric`).
 */
export function typeSatisfies(declared: string, built: string): boolean {
  const d = normalizeType(declared);
  const b = normalizeType(built);
  return d.base === b.base && (d.modifier === undefined || d.modifier === b.modifier);
}

/** Every difference between the declaration and the built columns, in declaration order. */
export function compareColumns(declared: Model['columns'], built: BuiltColumn[]): ContractIssue[] {
  const issues: ContractIssue[] = [];
  const builtByName = new Map(built.map((c) => [c.name, c]));
  const missing = Object.keys(declared).filter((name) => !builtByName.has(name));
  const extra = built.filter((c) => !(c.name in declared));
  const builtList = extra.map((c) => `"${c.name}" ${c.type}`).join(', ');
  for (const name of missing) {
    const message = `declared column "${name}" is not built${extra.length ? ` (built but not declared: ${builtList})` : ''}`;
    issues.push({ code: 'missing_column', column: name, message });
  }
  for (const column of extra) {
    const message = `built column "${column.name}" (${column.type}) is not declared${missing.length ? ` (declared but not built: ${missing.map((m) => `"${m}"`).join(', ')})` : ''}`;
    issues.push({ code: 'undeclared_column', column: column.name, message });
  }
  for (const [name, spec] of Object.entries(declared)) {
    const column = builtByName.get(name);
    if (!column || !spec.type || typeSatisfies(spec.type, column.type)) continue;
    issues.push({ code: 'type_mismatch', column: name, declared: spec.type, built: column.type, message: `column "${name}" is declared ${spec.type} but built as ${column.type}` });
  }
  return issues;
}

/** Columns of a relation (a quoted name, or a temporary table's bare name), in order. */
export async function builtColumns(db: Knex | Knex.Transaction, relation: string): Promise<BuiltColumn[]> {
  const { rows } = await db.raw(
    `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
     where a.attrelid = ?::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
    [relation],
  );
  return rows;
}

/** Throws ColumnContractError when `relation` does not have the columns `model` declares. */
export async function enforceContract(db: Knex | Knex.Transaction, model: Model, relation: string): Promise<void> {
  const issues = compareColumns(model.columns, await builtColumns(db, relation));
  if (issues.length) throw new ColumnContractError(model.name, issues);
}
