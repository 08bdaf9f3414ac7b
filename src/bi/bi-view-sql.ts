/**
 * The SQL of the `bi` views, generated from the catalog and governance.yml; pure (no I/O),
 * so `seglayer bi check` can regenerate it and compare it with what is deployed.
 *
 * Why views owned by the warehouse owner with the row filter in their WHERE clause, and not
 * PostgreSQL policies on the model tables: builds swap tables (build beside, rename), which
 * would drop policies on every build, and `security_invoker` views would need the login to
 * read the underlying core/segments tables directly. A view owned by the owner reads the
 * tables with the owner's rights, and its predicate compares each row with the values
 * `bi_policy.row_values` holds for `current_user` (a view does not change current_user).
 * `security_barrier` keeps a login's own predicates (a cast whose error message would
 * print a value, a pg_temp function) from seeing rows before that filter runs.
 */
import pg from 'pg';
import type { RowFilterRule } from '../governance/access-policy.js';

/** A relation the BI path exposes, as read from the catalog. */
export interface BiSource {
  schema: string;
  table: string;
  /** Its columns, in order. */
  columns: string[];
}

/** Where a view finds the value a row filter compares: its own column, the user's row in core.dim_users, or nowhere. */
export type RowFilterSource = 'own' | 'user' | 'none';

export interface BiView {
  /** Name in schema `bi`. */
  name: string;
  source: BiSource;
  /** Columns the view exposes: the source's, plus governed dimensions taken from the user. */
  columns: string[];
  /** Per governed dimension, where its value comes from ('none': only logins seeing all rows read the view). */
  rowFilters: { dimension: string; from: RowFilterSource }[];
}

export const BI_SCHEMA = 'bi';
export const POLICY_SCHEMA = 'bi_policy';
/** The user dimension a table keyed by user_key borrows governed columns from. */
export const USER_DIMENSION = { schema: 'core', table: 'dim_users', key: 'user_key' } as const;

/** Quoting by node-postgres' own escapers (DDL takes no bind parameters). */
export const ident = (name: string) => pg.escapeIdentifier(name);
export const literal = (value: string) => pg.escapeLiteral(value);

/**
 * The views for these sources. A name is the table's own; two sources with one table
 * name in different schemas are named `<schema>_<table>` both.
 */
export function planViews(sources: BiSource[], rowFilters: RowFilterRule[], userColumns: string[]): BiView[] {
  const counts = new Map<string, number>();
  for (const s of sources) counts.set(s.table, (counts.get(s.table) ?? 0) + 1);
  return sources.map((source) => {
    const name = counts.get(source.table)! > 1 ? `${source.schema}_${source.table}` : source.table;
    const columns = [...source.columns];
    const filters = rowFilters.map(({ dimension }) => {
      if (source.columns.includes(dimension)) return { dimension, from: 'own' as const };
      if (source.columns.includes(USER_DIMENSION.key) && userColumns.includes(dimension)) {
        columns.push(dimension);
        return { dimension, from: 'user' as const };
      }
      return { dimension, from: 'none' as const };
    });
    return { name, source, columns, rowFilters: filters };
  });
}

/** The row predicate: the API's semantics (access-policy.js) for the login's stored claims. */
function rowPredicate(view: BiView, governed: boolean): string {
  const values = (dimension: string) =>
    `select r.value from ${ident(POLICY_SCHEMA)}.row_values r where r.login = l.login and r.dimension = ${literal(dimension)}`;
  const checks = view.rowFilters.map(({ dimension, from }) => {
    const unrestricted = `not exists (${values(dimension)})`;
    if (from === 'none') return unrestricted;
    const column = `${from === 'own' ? 't' : 'u'}.${ident(dimension)}::text`;
    return `(${unrestricted} or ${column} in (${values(dimension)}))`;
  });
  // A login without a row claim reads rows only when its role sees all rows.
  if (governed) checks.unshift(`(l.all_rows or exists (select 1 from ${ident(POLICY_SCHEMA)}.row_values r where r.login = l.login))`);
  return `exists (select 1 from ${ident(POLICY_SCHEMA)}.logins l where l.login = current_user${checks.map((c) => `\n      and ${c}`).join('')})`;
}

/** The body (select) of one view. */
export function viewQuery(view: BiView, governed: boolean): string {
  const fromUser = view.rowFilters.filter((f) => f.from === 'user');
  const select = view.columns.map((c) => (fromUser.some((f) => f.dimension === c) ? `u.${ident(c)}` : `t.${ident(c)}`));
  const join = fromUser.length > 0
    ? `\n  left join ${ident(USER_DIMENSION.schema)}.${ident(USER_DIMENSION.table)} u on u.${ident(USER_DIMENSION.key)} = t.${ident(USER_DIMENSION.key)}`
    : '';
  return `select ${select.join(', ')}\n  from ${ident(view.source.schema)}.${ident(view.source.table)} t${join}\n  where ${rowPredicate(view, governed)}`;
}

/** `create view` for a view, in `schema` (bi, or pg_temp for the drift check). */
export function createViewSql(view: BiView, governed: boolean, schema = BI_SCHEMA): string {
  return `create view ${ident(schema)}.${ident(view.name)} with (security_barrier = true) as\n${viewQuery(view, governed)}`;
}
