/**
 * A model's declared indexes. Each has a fixed name, `<table>__<columns>`, so a
 * later build finds it: a table built beside the published one gets them under
 * its temporary name first (two indexes of one schema cannot share a name) and
 * they are renamed once the swap has dropped the old table.
 */
import type { Knex } from 'knex';
import { quoteRelation } from '../model-compiler.ts';
import type { Model } from '../model-discovery.ts';
import { relation, splitName, TEMP_PREFIX } from './relations.ts';

const indexName = (table: string, columns: string[]) => `${table}__${columns.join('__')}`.slice(0, 63);

/** Creates the declared indexes on the temporary table built for `model`. */
export async function indexTemporary(db: Knex | Knex.Transaction, model: Model): Promise<void> {
  const [schema, table] = splitName(model.name);
  for (const columns of model.indexes) {
    await db.raw(`create index ${quoteRelation(indexName(TEMP_PREFIX + table, columns))} on ${relation(schema, TEMP_PREFIX + table)} (${columns.map(() => '??').join(', ')})`, columns);
  }
}

/** After the swap: the temporary table's indexes take their published names. */
export async function renameSwappedIndexes(trx: Knex.Transaction, model: Model): Promise<void> {
  const [schema, table] = splitName(model.name);
  for (const columns of model.indexes) {
    await trx.raw(`alter index if exists ${relation(schema, indexName(TEMP_PREFIX + table, columns))} rename to ${quoteRelation(indexName(table, columns))}`);
  }
}

/**
 * On an incremental or append build: a table published before the model declared an index gets it now.
 * The catalog says which are missing: `create index if not exists` takes the table's share lock before
 * it looks at the name, so while autovacuum worked on the table (as it does after the previous build's
 * delete) every build waited deadlock_timeout (1 s) for PostgreSQL to cancel the vacuum.
 */
export async function ensureIndexes(db: Knex | Knex.Transaction, model: Model): Promise<void> {
  if (!model.indexes.length) return;
  const [schema, table] = splitName(model.name);
  const { rows } = await db.raw(
    `select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = any(?)`,
    [schema, model.indexes.map((columns) => indexName(table, columns))],
  );
  const existing = new Set((rows as { relname: string }[]).map((r) => r.relname));
  for (const columns of model.indexes) {
    if (existing.has(indexName(table, columns))) continue;
    await db.raw(`create index if not exists ${quoteRelation(indexName(table, columns))} on ${relation(schema, table)} (${columns.map(() => '??').join(', ')})`, columns);
  }
}
