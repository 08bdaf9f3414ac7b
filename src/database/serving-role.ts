/**
 * The PostgreSQL role the semantic API connects as. Builds run as the owner; the API reads
 * only the schemas it serves (plus `serving.model_freshness` for refresh keys) and writes
 * only its rollup schema. No superuser, no membership in other roles, no large objects, no
 * server files: whatever SQL reached the database through the API could read no more than
 * the API serves, and touch nothing on the host.
 *
 * The role is cluster-wide, its grants per database. Its password is derived from the API
 * secret (HMAC), so every process serving with the same secret agrees on it without storing
 * another credential, and two servers starting at once do not reset each other's password.
 */
import { createHmac } from 'node:crypto';
import pg from 'pg';
import type { Config } from '../config.ts';
import { UserError } from '../errors/user-error.js';

export interface ServingRoleOptions {
  /** Connection URL of the owner (who builds the models). */
  ownerUrl: string;
  /** Role name, e.g. seglayer_api. */
  role: string;
  /** Secret the role's password is derived from (the API secret). */
  secret: string;
  /** Schemas the API reads; `serving` is always included. Missing ones are skipped. */
  schemas: string[];
  /** The schema Cube writes its rollups to; the role may create tables there, nowhere else. */
  rollupSchema: string;
}

export interface ServingRole {
  /** The owner URL with the role's name and password. */
  url: string;
  role: string;
  /** What could not be tightened on this server (e.g. needs a superuser), for the operator. */
  warnings: string[];
}

export class ServingRoleError extends UserError {}

const UNSAFE_ATTRIBUTES = ['rolsuper', 'rolcreaterole', 'rolcreatedb', 'rolreplication', 'rolbypassrls'] as const;
/** Functions that create, import or export large objects: granted to PUBLIC by default. */
const LARGE_OBJECT_WRITERS = ['lo_create(oid)', 'lo_creat(integer)', 'lo_from_bytea(oid, bytea)', 'lo_import(text)', 'lo_import(text, oid)', 'lo_export(oid, text)', 'lo_put(oid, bigint, bytea)', 'lowrite(integer, bytea)', 'lo_open(oid, integer)'];

/** The role, schemas and rollup schema the configuration names. */
export function servingAccess(config: Pick<Config, 'SEGLAYER_API_ROLE' | 'SEGLAYER_API_SCHEMAS' | 'CUBEJS_PRE_AGGREGATIONS_SCHEMA'>): Pick<ServingRoleOptions, 'role' | 'schemas' | 'rollupSchema'> {
  return { role: config.SEGLAYER_API_ROLE, schemas: config.SEGLAYER_API_SCHEMAS.split(','), rollupSchema: config.CUBEJS_PRE_AGGREGATIONS_SCHEMA };
}

export async function provisionServingRole(options: ServingRoleOptions): Promise<ServingRole> {
  const password = createHmac('sha256', options.secret).update(`seglayer serving role ${options.role}`).digest('base64url');
  const url = new URL(options.ownerUrl);
  url.username = options.role;
  url.password = password;
  const owner = new pg.Client({ connectionString: options.ownerUrl, application_name: 'seglayer serve (grants)' });
  owner.on('error', () => {}); // a dropped connection fails the pending query, which reports it
  await owner.connect();
  try {
    const name = owner.escapeIdentifier(options.role);
    const { rows: [self] } = await owner.query<{ name: string }>('select current_user as name');
    if (self!.name === options.role) throw new ServingRoleError(`the owner connection already logs in as ${options.role}; the API role must be a different role (SEGLAYER_API_ROLE)`);
    await ensureRole(owner, options.role, name, password);
    const warnings = await grantServingAccess(owner, options);
    return { url: url.toString(), role: options.role, warnings };
  } finally {
    await owner.end().catch(() => {});
  }
}

async function ensureRole(owner: pg.Client, role: string, name: string, password: string): Promise<void> {
  const literal = owner.escapeLiteral(password);
  for (let attempt = 1; ; attempt++) {
    try {
      const { rows } = await owner.query(`select ${UNSAFE_ATTRIBUTES.join(', ')}, rolcanlogin,
          exists (select 1 from pg_auth_members m where m.member = r.oid) as is_member
        from pg_roles r where rolname = $1`, [role]);
      const existing = rows[0];
      if (!existing) {
        await owner.query(`create role ${name} login nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls connection limit 64 password ${literal}`);
        return;
      }
      const unsafe = UNSAFE_ATTRIBUTES.filter((attribute) => existing[attribute]);
      if (unsafe.length > 0 || existing.is_member) {
        throw new ServingRoleError(`role ${role} exists with ${[...unsafe, ...(existing.is_member ? ['membership in other roles'] : [])].join(', ')}; ` +
          'the API will not connect as a privileged role: drop it, or name another role with SEGLAYER_API_ROLE');
      }
      if (!existing.rolcanlogin || !(await canLogIn(owner, role, password))) {
        await owner.query(`alter role ${name} login password ${literal}`);
      }
      return;
    } catch (error) {
      // Two servers on one cluster provisioning at once: the loser retries and finds the role.
      const code = (error as { code?: string }).code;
      if (attempt < 5 && (code === '42710' || code === '23505' || code === 'XX000' || code === '40001')) continue;
      throw error;
    }
  }
}

async function canLogIn(owner: pg.Client, role: string, password: string): Promise<boolean> {
  const params = owner as unknown as { host: string; port: number; database: string };
  const probe = new pg.Client({ host: params.host, port: params.port, database: params.database, user: role, password });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return true;
  } catch {
    return false;
  } finally {
    await probe.end().catch(() => {});
  }
}

/**
 * Grants the role what serving needs in this database, idempotently; returns warnings for
 * what this owner could not tighten. Also run after builds, which may add schemas.
 */
export async function grantServingAccess(owner: pg.Client, options: Pick<ServingRoleOptions, 'role' | 'schemas' | 'rollupSchema'>): Promise<string[]> {
  const warnings: string[] = [];
  const name = owner.escapeIdentifier(options.role);
  const schemas = [...new Set([...options.schemas, 'serving'])];
  const { rows: existing } = await owner.query<{ nspname: string }>('select nspname from pg_namespace where nspname = any($1)', [schemas]);
  await owner.query('begin');
  try {
    // Concurrent GRANTs on one object fail ("tuple concurrently updated"): one at a time.
    await owner.query(`select pg_advisory_xact_lock(hashtext('seglayer serving grants'))`);
    await owner.query(`grant connect on database ${owner.escapeIdentifier((await owner.query('select current_database() as d')).rows[0].d)} to ${name}`);
    for (const { nspname } of existing) {
      const schema = owner.escapeIdentifier(nspname);
      await owner.query(`grant usage on schema ${schema} to ${name}`);
      await owner.query(`grant select on all tables in schema ${schema} to ${name}`);
      // Tables the owner's builds create later are readable without another grant.
      await owner.query(`alter default privileges in schema ${schema} grant select on tables to ${name}`);
    }
    // Rollups are a cache: tables some other role built there are dropped, not adopted.
    const rollups = owner.escapeIdentifier(options.rollupSchema);
    const { rows: [foreign] } = await owner.query(`select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and pg_get_userbyid(c.relowner) <> $2`, [options.rollupSchema, options.role]);
    if (foreign!.n > 0) await owner.query(`drop schema ${rollups} cascade`);
    await owner.query(`create schema if not exists ${rollups}`);
    await owner.query(`grant usage, create on schema ${rollups} to ${name}`);
    await owner.query('commit');
  } catch (error) {
    await owner.query('rollback').catch(() => {});
    throw error;
  }
  // Large objects are open to every role unless revoked from PUBLIC, which takes the
  // functions' owner (a superuser); the owner keeps them through its own grant.
  try {
    await owner.query('begin');
    await owner.query(`select pg_advisory_xact_lock(hashtext('seglayer serving grants'))`);
    for (const fn of LARGE_OBJECT_WRITERS) {
      await owner.query(`revoke execute on function pg_catalog.${fn} from public`);
      await owner.query(`grant execute on function pg_catalog.${fn} to current_user`);
    }
    await owner.query('commit');
  } catch (error) {
    await owner.query('rollback').catch(() => {});
    if ((error as { code?: string }).code !== '42501') throw error;
  }
  // A non-owner's REVOKE only warns: what the role can do is checked, not assumed.
  const { rows: [checks] } = await owner.query(`select has_schema_privilege($1, 'public', 'CREATE') as public_create,
      has_database_privilege($1, current_database(), 'CREATE') as database_create,
      has_function_privilege($1, 'pg_catalog.lo_create(oid)', 'EXECUTE') as large_objects`, [options.role]);
  if (checks.large_objects) warnings.push(`could not revoke the large-object functions from PUBLIC (needs a superuser): ${options.role} can create large objects`);
  if (checks.public_create) warnings.push(`${options.role} may create tables in schema public (PostgreSQL before 15 grants it to everyone): revoke create on schema public from public`);
  if (checks.database_create) warnings.push(`${options.role} may create schemas in this database`);
  return warnings;
}

/**
 * After a build: a schema the build created (the first `marts` model, say) becomes
 * readable by the API role, if one was provisioned. Returns whether it was.
 */
export async function refreshServingGrants(ownerUrl: string, options: Pick<ServingRoleOptions, 'role' | 'schemas' | 'rollupSchema'>): Promise<boolean> {
  const owner = new pg.Client({ connectionString: ownerUrl, application_name: 'seglayer build (grants)' });
  owner.on('error', () => {});
  await owner.connect();
  try {
    const { rowCount } = await owner.query('select 1 from pg_roles where rolname = $1', [options.role]);
    if (!rowCount) return false;
    await grantServingAccess(owner, options);
    return true;
  } finally {
    await owner.end().catch(() => {});
  }
}
