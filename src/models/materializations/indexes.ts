/**
 * A model's declared indexes. Each has a fixed name, `<table>__<columns>` (a partial
 * index: `<table>__<name>`), so a later build finds it: a table built beside the published one gets them under
 * its temporary name first (two indexes of one schema cannot share a name) and
 * they are renamed once the swap has dropped the old table.
 */
import type { Knex } from 'knex';
import { quoteRelation } from '../model-compiler.ts';
import type { Model } from '../model-discovery.ts';
import { relation, splitName, TEMP_PREFIX } from './relations.ts';

const indexName = (table: string, suffix: string) => `${table}__${suffix}`.slice(0, 63);

/** Every declared index: its name's suffix and its definition (columns, and a partial index's predicate), bindings apart. */
const declared = (model: Model): { suffix: string; sql: string; columns: string[] }[] => [
  ...model.indexes.map((columns) => ({ suffix: columns.join('__'), sql: `(${columns.map(() => '??').join(', ')})`, columns })),
  ...model.partialIndexes.map((p) => ({ suffix: p.name, sql: `(${p.columns.map(() => '??').join(', ')}) where ${p.where}`, columns: p.columns })),
];

/** Creates the declared indexes on the temporary table built for `model`. */
export async function indexTemporary(db: Knex | Knex.Transaction, model: Model): Promise<void> {
  const [schema, table] = splitName(model.name);
  for (const index of declared(model)) {
    await db.raw(`create index ${quoteRelation(indexName(TEMP_PREFIX + table, index.suffix))} on ${relation(schema, TEMP_PREFIX + table)} ${index.sql}`, index.columns);
  }
}

/** After the swap: the temporary table's indexes take their published names. */
export async function renameSwappedIndexes(trx: Knex.Transaction, model: Model): Promise<void> {
  const [schema, table] = splitName(model.name);
  for (const index of declared(model)) {
    await trx.raw(`alter index if exists ${relation(schema, indexName(TEMP_PREFIX + table, index.suffix))} rename to ${quoteRelation(indexName(table, index.suffix))}`);
  }
}

/**
 * On an incremental or append build: a table published before the model declared an index gets it now,
 * and loses the indexes the runner made that the model no longer declares (named `<table>__…`: a replaced
 * declaration, e.g. fct_events' (occurred_at) widened to (occurred_at, event, user_key), would otherwise
 * stay until the next full build and be maintained by every write). Other indexes are left alone.
 * The catalog says which exist: `create index if not exists` takes the table's share lock before
 * it looks at the name, so while autovacuum worked on the table (as it does after the previous build's
 * delete) every build waited deadlock_timeout (1 s) for PostgreSQL to cancel the vacuum.
 */
export async function ensureIndexes(db: Knex | Knex.Transaction, model: Model): Promise<void> {
  const indexes = declared(model);
  const [schema, table] = splitName(model.name);
  const ours = indexName(table, '');
  const { rows } = await db.raw(
    `select i.relname from pg_index x
     join pg_class i on i.oid = x.indexrelid
     join pg_class t on t.oid = x.indrelid join pg_namespace n on n.oid = t.relnamespace
     where n.nspname = ? and t.relname = ? and left(i.relname, ?) = ?`,
    [schema, table, ours.length, ours],
  );
  const existing = new Set((rows as { relname: string }[]).map((r) => r.relname));
  const wanted = new Set(indexes.map((index) => indexName(table, index.suffix)));
  for (const name of existing) {
    if (!wanted.has(name)) await db.raw(`drop index if exists ${relation(schema, name)}`);
  }
  for (const index of indexes) {
    if (existing.has(indexName(table, index.suffix))) continue;
    await db.raw(`create index if not exists ${quoteRelation(indexName(table, index.suffix))} on ${relation(schema, table)} ${index.sql}`, index.columns);
  }
}
