/**
 * What the BI path exposes, read from the catalog so a new mart is picked up by the next
 * `seglayer bi grant` or `bi refresh`: every table and view in `marts` and `segments`,
 * and the dimensions of `core` (`dim_*`). raw, staging, ops, features and the rest of core
 * are never exposed. Relations a build has left half-made (`__seglayer_*`) are skipped.
 */
import type pg from 'pg';
import { USER_DIMENSION, type BiSource } from './bi-view-sql.ts';

/** Schemas and name patterns (SQL `like`) the `bi` schema is generated from. */
export const BI_SOURCES: { schema: string; like: string }[] = [
  { schema: 'marts', like: '%' },
  { schema: 'segments', like: '%' },
  { schema: 'core', like: 'dim\\_%' },
];

export async function readBiSources(db: pg.ClientBase): Promise<{ sources: BiSource[]; userColumns: string[] }> {
  const { rows } = await db.query<{ schema: string; table: string; columns: string[] }>(
    `select n.nspname as schema, c.relname as table, array_agg(a.attname::text order by a.attnum) as columns
     from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
     join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
     join unnest($1::text[], $2::text[]) as s(schema, pattern) on s.schema = n.nspname and c.relname like s.pattern
     where c.relkind in ('r', 'p', 'v', 'm') and c.relname not like '\\_\\_seglayer\\_%'
     group by n.nspname, c.relname
     order by n.nspname, c.relname`,
    [BI_SOURCES.map((s) => s.schema), BI_SOURCES.map((s) => s.like)],
  );
  const user = rows.find((r) => r.schema === USER_DIMENSION.schema && r.table === USER_DIMENSION.table);
  return { sources: rows, userColumns: user?.columns ?? [] };
}
