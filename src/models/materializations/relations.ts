/**
 * Names and kinds of the relations a build touches: the published one, the
 * temporary one built beside it, and the old one during a swap.
 */
import type { Knex } from 'knex';
import { quoteRelation } from '../model-compiler.ts';

export const TEMP_PREFIX = '__seglayer_tmp_';
export const OLD_PREFIX = '__seglayer_old_';

export const splitName = (name: string) => name.split('.') as [string, string];
export const relation = (schema: string, table: string) => quoteRelation(`${schema}.${table}`);

/** The quoted names a materialization of `model` works with. */
export function relationsOf(modelName: string): { schema: string; table: string; target: string; temp: string; old: string } {
  const [schema, table] = splitName(modelName);
  return { schema, table, target: relation(schema, table), temp: relation(schema, TEMP_PREFIX + table), old: relation(schema, OLD_PREFIX + table) };
}

export async function relationKind(db: Knex | Knex.Transaction, name: string): Promise<'table' | 'view' | undefined> {
  const [schema, table] = splitName(name);
  const { rows } = await db.raw(
    `select c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = ?`,
    [schema, table],
  );
  const kind = rows[0]?.relkind;
  return kind === 'r' || kind === 'p' ? 'table' : kind === 'v' || kind === 'm' ? 'view' : undefined;
}

export async function relationExists(db: Knex, name: string): Promise<boolean> {
  return (await relationKind(db, name)) !== undefined;
}

/** Drops temporary relations a killed build left behind in the given schemas. */
export async function dropLeftovers(db: Knex, schemas: string[]): Promise<string[]> {
  const { rows } = await db.raw(
    `select n.nspname as schema, c.relname as name, c.relkind as kind from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = any(?) and c.relkind in ('r', 'v') and (c.relname like ? or c.relname like ?)`,
    [schemas, `${TEMP_PREFIX.replace(/_/g, '\\_')}%`, `${OLD_PREFIX.replace(/_/g, '\\_')}%`],
  );
  const dropped: string[] = [];
  for (const row of rows as { schema: string; name: string; kind: string }[]) {
    await db.raw(`drop ${row.kind === 'v' ? 'view' : 'table'} if exists ${relation(row.schema, row.name)} cascade`);
    dropped.push(`${row.schema}.${row.name}`);
  }
  return dropped;
}

/**
 * `create schema if not exists` is not safe against itself: two models of a new
 * schema materialized concurrently (e.g. segments.rfm_scores and
 * segments.cluster_assignments on a first build) can both pass the existence check
 * and one then fails on pg_namespace's unique index. Losing that race means the
 * schema exists, which is all we need.
 */
export async function ensureSchema(db: Knex, schema: string): Promise<void> {
  // Once per pool (a build's: ../model-runner.ts makes one per run), not once per model: a statement per model.
  const ensured = ensuredSchemas.get(db) ?? new Set<string>();
  ensuredSchemas.set(db, ensured);
  if (ensured.has(schema)) return;
  try {
    await db.raw(`create schema if not exists ${quoteRelation(schema)}`);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42P06') throw error; // unique_violation, duplicate_schema
  }
  ensured.add(schema);
}

const ensuredSchemas = new WeakMap<Knex, Set<string>>();
