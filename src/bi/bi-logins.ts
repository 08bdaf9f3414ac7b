/**
 * BI logins: PostgreSQL logins that read the `bi` schema only, with the rows and columns
 * governance.yml gives their claims (the same rules the API applies: access-policy.js).
 *
 * A login's claims are checked with `accessFor` (an unknown role, or a restricted role
 * without a row claim, is refused as the API refuses such a token) and stored in
 * `bi_policy`; the views filter rows by them (bi-view-sql.ts) and every login gets
 * SELECT on the columns its role does not hide, view by view. Everything runs as the
 * owner, in one transaction, under an advisory lock.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { AccessDenied, accessFor, isHidden, type AccessPolicy } from '../governance/access-policy.js';
import { UserError } from '../errors/user-error.js';
import { readBiSources } from './bi-catalog.ts';
import { BI_SCHEMA, POLICY_SCHEMA, createViewSql, ident, literal, planViews, type BiView } from './bi-view-sql.ts';

export class BiAccessError extends UserError {}

/** A login name PostgreSQL takes unquoted; `pg_` names are reserved by PostgreSQL. */
const LOGIN = /^[a-z_][a-z0-9_]{0,62}$/;

export interface BiLogin {
  login: string;
  role: string;
  allRows: boolean;
  claims: Record<string, unknown>;
  /** Views the login may read, with the columns it may select. */
  views: { view: string; columns: string[] }[];
}

export interface GrantResult {
  login: string;
  /** Set when the login was created or its password rotated: shown once, stored nowhere. */
  password?: string;
  views: number;
  hiddenColumns: number;
}

async function withOwner<T>(ownerUrl: string, work: (db: pg.Client) => Promise<T>): Promise<T> {
  const db = new pg.Client({ connectionString: ownerUrl, application_name: 'seglayer bi' });
  db.on('error', () => {});
  await db.connect();
  try {
    await db.query('begin');
    await db.query(`select pg_advisory_xact_lock(hashtext('seglayer bi'))`);
    const result = await work(db);
    await db.query('commit');
    return result;
  } catch (error) {
    await db.query('rollback').catch(() => {});
    throw error;
  } finally {
    await db.end().catch(() => {});
  }
}

export function checkLoginName(login: string, reserved: string[]): void {
  if (!LOGIN.test(login) || login.startsWith('pg_')) {
    throw new BiAccessError(`login "${login}" must be a lowercase PostgreSQL name (a-z, 0-9, _; at most 63 characters; not pg_...)`);
  }
  if ([...reserved, 'postgres', 'public'].includes(login)) throw new BiAccessError(`login "${login}" is a role seglayer itself uses`);
}

/**
 * The views the catalog, governance.yml and the stored logins give now. A column no login
 * may read is left out of the view altogether, so a BI tool's column list (read from the
 * catalog, which shows every name to everyone) does not name it; a view no login may read
 * is not created.
 */
export async function plannedViews(db: pg.ClientBase, policy: AccessPolicy): Promise<BiView[]> {
  const { sources, userColumns } = await readBiSources(db);
  const views = planViews(sources, policy.row_filters, userColumns);
  const { rows: logins } = await db.query<{ claims: Record<string, unknown> }>(`select claims from ${ident(POLICY_SCHEMA)}.logins`);
  const readable = new Map<string, Set<string>>();
  for (const { claims } of logins) {
    let visible: { view: string; columns: string[] }[];
    try {
      visible = visibleTo(policy, claims, views);
    } catch (error) {
      if (error instanceof AccessDenied) continue; // claims governance.yml refuses now: bi check reports them
      throw error;
    }
    for (const { view, columns } of visible) for (const column of columns) readable.set(view, (readable.get(view) ?? new Set()).add(column));
  }
  return views
    .filter((view) => readable.has(view.name))
    .map((view) => ({ ...view, columns: view.columns.filter((column) => readable.get(view.name)!.has(column)) }));
}

/** Which views and columns a login with these claims may read (pure). */
export function visibleTo(policy: AccessPolicy, claims: Record<string, unknown>, views: BiView[]): { view: string; columns: string[] }[] {
  const access = accessFor(policy, claims);
  const restricted = access.rowFilters.map((f) => f.dimension);
  return views
    // A view without a claim's dimension could not be filtered by it: not readable with that claim.
    .filter((view) => view.rowFilters.every((f) => f.from !== 'none' || !restricted.includes(f.dimension)))
    .map((view) => ({ view: view.name, columns: view.columns.filter((column) => !isHidden(access, `${view.name}.${column}`)) }))
    .filter((entry) => entry.columns.length > 0);
}

/** Drops and re-creates the `bi` views from the catalog, then re-grants every login. */
async function syncViews(db: pg.Client, policy: AccessPolicy): Promise<BiView[]> {
  await db.query(`create schema if not exists ${ident(BI_SCHEMA)}`);
  await db.query(`revoke all on schema ${ident(BI_SCHEMA)} from public`);
  const { rows: existing } = await db.query<{ name: string }>(`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'v'`, [BI_SCHEMA]);
  for (const { name } of existing) await db.query(`drop view ${ident(BI_SCHEMA)}.${ident(name)}`);
  const views = await plannedViews(db, policy);
  const governed = policy.row_filters.length > 0;
  for (const view of views) await db.query(createViewSql(view, governed));
  const { rows: logins } = await db.query<{ login: string; claims: Record<string, unknown> }>(`select login::text, claims from ${ident(POLICY_SCHEMA)}.logins order by login`);
  for (const { login, claims } of logins) await grantViews(db, login, visibleTo(policy, claims, views));
  return views;
}

async function grantViews(db: pg.Client, login: string, visible: { view: string; columns: string[] }[]): Promise<void> {
  const name = ident(login);
  await db.query(`revoke all on all tables in schema ${ident(BI_SCHEMA)} from ${name}`);
  await db.query(`grant usage on schema ${ident(BI_SCHEMA)} to ${name}`);
  for (const { view, columns } of visible) {
    await db.query(`grant select (${columns.map(ident).join(', ')}) on ${ident(BI_SCHEMA)}.${ident(view)} to ${name}`);
  }
}

/** Creates or updates a login; returns its password when one was set. */
export async function grantBiLogin(ownerUrl: string, policy: AccessPolicy, login: string, claims: Record<string, unknown>, options: { reserved: string[]; rotatePassword?: boolean }): Promise<GrantResult> {
  checkLoginName(login, options.reserved);
  let access;
  try {
    access = accessFor(policy, claims);
  } catch (error) {
    if (error instanceof AccessDenied) throw new BiAccessError(`claims for ${login}: ${error.message}`);
    throw error;
  }
  return withOwner(ownerUrl, async (db) => {
    const { rows: [self] } = await db.query<{ name: string; database: string }>('select current_user as name, current_database() as database');
    if (self!.name === login) throw new BiAccessError(`login "${login}" is the owner this command connects as`);
    const { rows: [role] } = await db.query<{ ours: boolean }>(
      `select exists (select 1 from ${ident(POLICY_SCHEMA)}.logins where login = $1) as ours from pg_roles where rolname = $1`, [login]);
    if (role && !role.ours) throw new BiAccessError(`role "${login}" exists and is not a BI login of this database; choose another name`);
    let password: string | undefined;
    if (!role) {
      password = randomBytes(18).toString('base64url');
      await db.query(`create role ${ident(login)} login nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls connection limit 16 password ${literal(password)}`);
    } else if (options.rotatePassword) {
      password = randomBytes(18).toString('base64url');
      await db.query(`alter role ${ident(login)} password ${literal(password)}`);
    }
    await db.query(`alter role ${ident(login)} set search_path = ${ident(BI_SCHEMA)}`);
    await db.query(`grant connect on database ${ident(self!.database)} to ${ident(login)}`);
    await db.query(
      `insert into ${ident(POLICY_SCHEMA)}.logins (login, role, all_rows, claims) values ($1, $2, $3, $4)
       on conflict (login) do update set role = excluded.role, all_rows = excluded.all_rows, claims = excluded.claims, granted_at = now()`,
      [login, access.role, access.allRows, JSON.stringify(claims)],
    );
    await db.query(`delete from ${ident(POLICY_SCHEMA)}.row_values where login = $1`, [login]);
    for (const filter of access.rowFilters) {
      await db.query(`insert into ${ident(POLICY_SCHEMA)}.row_values (login, dimension, value) select $1, $2, unnest($3::text[]) on conflict do nothing`, [login, filter.dimension, filter.values]);
    }
    const views = await syncViews(db, policy);
    const visible = visibleTo(policy, claims, views);
    // Counted against every column the catalog offers, not the views (which leave out what no login may read).
    const { sources, userColumns } = await readBiSources(db);
    const all = planViews(sources, policy.row_filters, userColumns);
    const readable = visibleTo(policy, claims, all);
    const hiddenColumns = all.filter((v) => readable.some((r) => r.view === v.name)).reduce((n, v) => n + v.columns.length, 0) - readable.reduce((n, v) => n + v.columns.length, 0);
    return { login, password, views: visible.length, hiddenColumns };
  });
}

/** Removes a BI login: its grants, its stored claims and the role itself; the views lose columns only it could read. */
export async function revokeBiLogin(ownerUrl: string, policy: AccessPolicy, login: string, reserved: string[]): Promise<boolean> {
  checkLoginName(login, reserved);
  return withOwner(ownerUrl, async (db) => {
    const { rowCount } = await db.query(`delete from ${ident(POLICY_SCHEMA)}.logins where login = $1`, [login]);
    if (!rowCount) return false;
    const { rows: [database] } = await db.query<{ name: string }>('select current_database() as name');
    const name = ident(login);
    await db.query(`revoke all on all tables in schema ${ident(BI_SCHEMA)} from ${name}`);
    await db.query(`revoke all on schema ${ident(BI_SCHEMA)} from ${name}`);
    await db.query(`revoke all on database ${ident(database!.name)} from ${name}`);
    // A login granted in another database of the cluster keeps its role there.
    const { rows: [other] } = await db.query<{ n: number }>(`select count(*)::int as n from pg_shdepend d join pg_roles r on r.oid = d.refobjid where r.rolname = $1`, [login]);
    if (other!.n === 0) await db.query(`drop role ${name}`);
    await syncViews(db, policy);
    return true;
  });
}

/** Re-creates the views (after a build added a mart, or governance.yml changed) and re-grants. */
export async function refreshBiViews(ownerUrl: string, policy: AccessPolicy): Promise<number> {
  return withOwner(ownerUrl, async (db) => (await syncViews(db, policy)).length);
}

/** The logins of this database, with what they may read. */
export async function listBiLogins(ownerUrl: string, policy: AccessPolicy): Promise<BiLogin[]> {
  return withOwner(ownerUrl, async (db) => {
    const { rows } = await db.query<{ login: string; role: string; all_rows: boolean; claims: Record<string, unknown> }>(
      `select login::text, role, all_rows, claims from ${ident(POLICY_SCHEMA)}.logins order by login`);
    const { rows: grants } = await db.query<{ grantee: string; view: string; columns: string[] }>(
      `select grantee::text, table_name::text as view, array_agg(column_name::text order by column_name) as columns
       from information_schema.column_privileges where table_schema = $1 and privilege_type = 'SELECT' and grantee = any($2)
       group by grantee, table_name order by table_name`, [BI_SCHEMA, rows.map((r) => r.login)]);
    void policy;
    return rows.map((r) => ({
      login: r.login, role: r.role, allRows: r.all_rows, claims: r.claims,
      views: grants.filter((g) => g.grantee === r.login).map((g) => ({ view: g.view, columns: g.columns })),
    }));
  });
}

export { withOwner };
