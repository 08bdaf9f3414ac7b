/**
 * The API's database role (src/database/serving-role.ts): provisioned by the owner, it can
 * read the served schemas and serving.model_freshness, write its rollup schema, and nothing
 * else: not raw or ops, not server files, not large objects, not other schemas, not the
 * owner's role. Re-provisioning (a second server, a restart) is a no-op that keeps working.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grantServingAccess, provisionServingRole, ServingRoleError, type ServingRole } from '../../src/database/serving-role.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

let db: TestDatabase;
let serving: ServingRole;
let client: pg.Client;
const ROLE = 'seglayer_api_test';
const OPTIONS = { role: ROLE, secret: 'serving-role-test-secret-0123456789abcdef', schemas: ['core', 'segments', 'marts'], rollupSchema: 'cube_rollups' };

beforeAll(async () => {
  db = await createTestDatabase();
  await db.knex.raw(`create schema core; create table core.dim_users (user_key int, region text); insert into core.dim_users values (1, 'CA');
    create schema segments; create table segments.user_segments (user_key int);
    insert into ops.model_runs (run_id, model, status, started_at, finished_at) values (gen_random_uuid(), 'core.dim_users', 'success', now(), now())`);
  serving = await provisionServingRole({ ownerUrl: db.url, ...OPTIONS });
  client = new pg.Client(serving.url);
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

/** The SQLSTATE a statement fails with as the API role, or 'ok'. */
async function outcome(sql: string): Promise<string> {
  try {
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? 'error';
  }
}

describe('the API role', () => {
  it('is a plain login: no superuser, no role creation, no memberships', async () => {
    const { rows: [role] } = await client.query(`select current_user as name, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls,
      (select count(*)::int from pg_auth_members m where m.member = r.oid) as memberships from pg_roles r where rolname = current_user`);
    expect(role).toEqual({ name: ROLE, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: false, memberships: 0 });
  });

  it('reads the served schemas and the freshness view', async () => {
    expect((await client.query('select region from core.dim_users')).rows).toEqual([{ region: 'CA' }]);
    expect(await outcome('select * from segments.user_segments')).toBe('ok');
    const { rows } = await client.query('select model, last_success_run_id from serving.model_freshness');
    expect(rows.map((r) => r.model)).toEqual(['core.dim_users']);
  });

  it('reads tables a later build creates, through default privileges', async () => {
    await db.knex.raw('create table core.fct_events (id int); insert into core.fct_events values (7)');
    expect((await client.query('select id from core.fct_events')).rows).toEqual([{ id: 7 }]);
  });

  it.for([
    ['raw', 'select * from raw.events'],
    ['ops', 'select * from ops.model_runs'],
    ['ops quarantine', 'select raw_payload from ops.quarantine'],
    ['server files', "select pg_read_file('/etc/passwd')"],
    ['server directories', "select pg_ls_dir('.')"],
    ['large objects (create)', 'select lo_create(0)'],
    ['large objects (from bytea)', "select lo_from_bytea(0, 'x')"],
    ['large objects (export)', "select lo_export(1, '/tmp/seglayer-lo-export')"],
    ['copy to a program', "copy (select 1) to program 'touch /tmp/seglayer-pwned'"],
    ['copy to a file', "copy (select 1) to '/tmp/seglayer-pwned'"],
    ['the owner role', `set role ${'seglayer'}`],
    ['writing core', 'insert into core.dim_users values (2, \'TX\')'],
    ['dropping core', 'drop table core.dim_users'],
    ['a table in core', 'create table core.x (id int)'],
    ['a table in public', 'create table public.x (id int)'],
    ['a new schema', 'create schema elsewhere'],
    ['changing its own role', 'alter role current_user superuser'],
  ])('may not use %s', async ([, sql]) => {
    expect(await outcome(sql!)).toMatch(/^(42501|42704|22023)$/); // insufficient privilege (or no such role to become)
  });

  it('creates, reads and drops tables in the rollup schema only', async () => {
    expect(await outcome('create table cube_rollups.t1 as select 1 as x')).toBe('ok');
    expect((await client.query('select x from cube_rollups.t1')).rows).toEqual([{ x: 1 }]);
    expect(await outcome('drop table cube_rollups.t1')).toBe('ok');
  });

  it('has no warnings on this server (superuser owner, PostgreSQL 15+)', () => {
    expect(serving.warnings).toEqual([]);
  });
});

describe('provisioning', () => {
  it('again (another server, a restart) keeps the same login and its rollups', async () => {
    await client.query('create table cube_rollups.kept as select 1 as x');
    const again = await provisionServingRole({ ownerUrl: db.url, ...OPTIONS });
    expect(again.url).toBe(serving.url);
    expect((await client.query('select x from cube_rollups.kept')).rows).toEqual([{ x: 1 }]);
  });

  it('runs concurrently without failing', async () => {
    const results = await Promise.all([1, 2, 3].map(() => provisionServingRole({ ownerUrl: db.url, ...OPTIONS })));
    expect(new Set(results.map((r) => r.url)).size).toBe(1);
  });

  it('drops rollups another role built (a cache it could not manage)', async () => {
    await db.knex.raw('create table cube_rollups.by_owner as select 1 as x');
    await provisionServingRole({ ownerUrl: db.url, ...OPTIONS });
    expect(await outcome('select * from cube_rollups.by_owner')).toBe('42P01');
  });

  it('grants a schema a build created after the server started', async () => {
    await db.knex.raw('create schema marts; create table marts.segment_value (n int); insert into marts.segment_value values (5)');
    expect(await outcome('select * from marts.segment_value')).toBe('42501');
    const owner = new pg.Client(db.url);
    await owner.connect();
    await grantServingAccess(owner, OPTIONS);
    await owner.end();
    expect((await client.query('select n from marts.segment_value')).rows).toEqual([{ n: 5 }]);
  });

  it('refuses to serve as a role that is privileged', async () => {
    await db.knex.raw('create role seglayer_api_privileged login createrole');
    await expect(provisionServingRole({ ownerUrl: db.url, ...OPTIONS, role: 'seglayer_api_privileged' })).rejects.toThrow(ServingRoleError);
    await expect(provisionServingRole({ ownerUrl: db.url, ...OPTIONS, role: 'seglayer_api_privileged' })).rejects.toThrow(/exists with rolcreaterole/);
    await db.knex.raw('drop role seglayer_api_privileged');
  });
});
