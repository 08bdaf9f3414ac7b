/**
 * The governed PostgreSQL path for BI tools (src/bi/): two logins with different claims,
 * connected with psql and with SQLAlchemy + psycopg2 (what Superset uses), each introspects
 * the database and runs aggregates. Neither reads the other's rows, a column governance.yml
 * hides from it, or anything outside schema bi; both get the API's figures for the same
 * claims. The drift check passes, then fails on each kind of disagreement.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBiDrift } from '../../src/bi/bi-drift.ts';
import { grantBiLogin, listBiLogins, refreshBiViews, revokeBiLogin } from '../../src/bi/bi-logins.ts';
import { loadAccessPolicy, type AccessPolicy } from '../../src/governance/access-policy.js';
import { runModels } from '../../src/models/model-runner.ts';
import { spawnCli } from '../support/cli-process.ts';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';
import { PROJECT_ROOT } from '../support/test-database.ts';
import { loadTestProject } from '../support/test-project.ts';

const run = promisify(execFile);
const suffix = randomBytes(3).toString('hex');
const ANALYST = `bi_analyst_${suffix}`;
const VIEWER = `bi_viewer_${suffix}`;
const RESERVED = ['seglayer_api'];

let api: ApiFixture;
let policy: AccessPolicy;
let regionA: string;
let regionB: string;
const urls: Record<string, string> = {};
const claimsOf: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
  api = await startApiFixture({ users: 400 });
  policy = loadAccessPolicy(join(PROJECT_ROOT, 'governance.yml'));
  const regions = await api.sql<{ region: string }>(`select region from core.dim_users where region is not null group by region order by count(*) desc, region limit 2`);
  [regionA, regionB] = regions.map((r) => r.region) as [string, string];
  claimsOf[ANALYST] = { role: 'analyst', region: regionA };
  claimsOf[VIEWER] = { role: 'viewer', region: [regionB] };
  for (const login of [ANALYST, VIEWER]) {
    const granted = await grantBiLogin(api.db.url, policy, login, claimsOf[login]!, { reserved: RESERVED });
    expect(granted.password).toBeTruthy();
    const url = new URL(api.db.url);
    url.username = login;
    url.password = granted.password!;
    urls[login] = url.toString();
  }
});

afterAll(async () => {
  for (const login of [ANALYST, VIEWER]) await revokeBiLogin(api.db.url, policy, login, RESERVED).catch(() => {});
  await api?.close();
});

/** psql as a login: rows as `|`-separated text, or the error it printed. */
async function psql(login: string, sql: string): Promise<{ rows: string[][]; error?: string }> {
  try {
    const { stdout } = await run('psql', [urls[login]!, '-X', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
    return { rows: stdout.trim() === '' ? [] : stdout.trim().split('\n').map((line) => line.split('|')) };
  } catch (error) {
    return { rows: [], error: (error as { stderr?: string }).stderr ?? String(error) };
  }
}

interface Probe {
  schemas: string[];
  tables: Record<string, string[]>;
  columns: Record<string, string[]>;
  readable: Record<string, string[]>;
  users_by_plan: [string, number][];
  regions: [string][];
  outside: Record<string, string>;
}

async function superset(login: string): Promise<Probe> {
  const url = urls[login]!.replace(/^postgres(ql)?:/, 'postgresql+psycopg2:');
  const { stdout } = await run('/usr/bin/python3', [join(PROJECT_ROOT, 'test/support/superset_probe.py'), url], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout) as Probe;
}

/** The API's users per plan for these claims. */
async function apiUsersByPlan(claims: Record<string, unknown>): Promise<[string, number][]> {
  const result = await api.rest(await api.token(claims)).load({ measures: ['user_value.count'], dimensions: ['user_value.plan'] });
  return result
    .tablePivot()
    .map((row) => [String(row['user_value.plan'] ?? '∅'), Number(row['user_value.count'])] as [string, number])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe.each([
  ['analyst', () => ANALYST, () => regionA, () => regionB],
  ['viewer', () => VIEWER, () => regionB, () => regionA],
])('a BI login with role %s', (role, login, own, other) => {
  it('psql: reads only its region, the API figures, no hidden column, nothing outside bi', async () => {
    const regions = await psql(login(), 'select distinct region from bi.dim_users order by 1');
    expect(regions.error).toBeUndefined();
    expect(regions.rows).toEqual([[own()]]);
    // Every view with a region column: no row of the other region, and some of its own.
    const { rows: views } = await psql(login(), `select table_name from information_schema.columns where table_schema = 'bi' and column_name = 'region' order by 1`);
    expect(views.length).toBeGreaterThan(3);
    for (const [view] of views) {
      const counts = await psql(login(), `select count(*) filter (where region is distinct from '${own()}'), count(*) from bi."${view}"`);
      expect(counts.error, view).toBeUndefined();
      expect(Number(counts.rows[0]![0]), view).toBe(0);
    }
    const byPlan = await psql(login(), `select coalesce(plan, '∅'), count(*) from bi.dim_users group by 1 order by 1`);
    expect(byPlan.rows.map(([plan, n]) => [plan, Number(n)])).toEqual(await apiUsersByPlan(claimsOf[login()]!));

    expect((await psql(login(), 'select email from bi.dim_users limit 1')).error).toMatch(/permission denied|does not exist/);
    expect((await psql(login(), 'select user_id from bi.dim_users limit 1')).error).toMatch(/permission denied|does not exist/);
    for (const table of ['core.dim_users', 'raw.events', 'ops.load_batches', 'staging.stg_users', 'segments.user_segments', 'features.user_features', 'bi_policy.row_values']) {
      expect((await psql(login(), `select 1 from ${table} limit 1`)).error, table).toMatch(/permission denied/);
    }
    expect((await psql(login(), 'create table bi.x (a int)')).error).toMatch(/permission denied/);
    // A cast that fails prints the value it failed on: behind the security barrier it only
    // ever meets rows this login may read.
    const leak = await psql(login(), `select count(*) from bi.dim_users where (region || '')::int > 0`);
    expect(leak.error).toMatch(/invalid input syntax/);
    expect(leak.error).not.toContain(other());
  });

  it('SQLAlchemy + psycopg2 (as Superset): introspects bi, reads its columns and figures, nothing else', async () => {
    const probe = await superset(login());
    expect(probe.tables.bi).toEqual(expect.arrayContaining(['dim_users', 'user_segments', 'membership_history', 'current_membership']));
    for (const [view, columns] of Object.entries(probe.readable)) {
      for (const hidden of ['email', 'user_id']) expect(columns, view).not.toContain(hidden);
    }
    // No login of this database may read email or user_id, so the inspector does not list them either.
    for (const [view, columns] of Object.entries(probe.columns)) {
      for (const hidden of ['email', 'user_id']) expect(columns, view).not.toContain(hidden);
    }
    expect(probe.readable.dim_users).toEqual(expect.arrayContaining(['user_key', 'plan', 'region']));
    expect(probe.regions).toEqual([[own()]]);
    expect(probe.users_by_plan.map(([plan, n]) => [plan, Number(n)])).toEqual(await apiUsersByPlan(claimsOf[login()]!));
    const outside = Object.entries(probe.outside);
    expect(outside.length).toBeGreaterThan(10); // the catalog lists other schemas' names...
    // ...none is readable but PostgreSQL's own catalog views, which every role reads.
    expect(outside.filter(([name, outcome]) => outcome !== 'InsufficientPrivilege' && !name.startsWith('information_schema.'))).toEqual([]);
    expect(outside.filter(([name]) => /^(core|raw|staging|ops|segments|features|bi_policy)\./.test(name)).length).toBeGreaterThan(10);
    void role;
  });
});

describe('what each login may read, from governance.yml', () => {
  it('bi ls reports each login with its claims and grants', async () => {
    const logins = (await listBiLogins(api.db.url, policy)).filter((l) => [ANALYST, VIEWER].includes(l.login));
    expect(logins.map((l) => [l.login, l.role])).toEqual([[ANALYST, 'analyst'], [VIEWER, 'viewer']]);
    for (const login of logins) expect(login.views.flatMap((v) => v.columns)).not.toContain('email');
  });

  it('refuses claims the API would refuse, and bad login names', async () => {
    await expect(grantBiLogin(api.db.url, policy, `bi_x_${suffix}`, { role: 'analyst' }, { reserved: RESERVED })).rejects.toThrow(/must carry one of the claims "region"/);
    await expect(grantBiLogin(api.db.url, policy, `bi_x_${suffix}`, { role: 'owner' }, { reserved: RESERVED })).rejects.toThrow(/unknown role/);
    await expect(grantBiLogin(api.db.url, policy, 'Robert"; drop table x; --', { role: 'admin' }, { reserved: RESERVED })).rejects.toThrow(/lowercase PostgreSQL name/);
    await expect(grantBiLogin(api.db.url, policy, 'seglayer_api', { role: 'admin' }, { reserved: RESERVED })).rejects.toThrow(/seglayer itself uses/);
    await expect(grantBiLogin(api.db.url, policy, new URL(api.db.url).username, { role: 'admin' }, { reserved: RESERVED })).rejects.toThrow(/not a BI login|the owner/);
    await api.sql(`create role bi_foreign_${suffix}`);
    await expect(grantBiLogin(api.db.url, policy, `bi_foreign_${suffix}`, { role: 'admin' }, { reserved: RESERVED })).rejects.toThrow(/exists and is not a BI login/);
    await api.sql(`drop role bi_foreign_${suffix}`);
  });

  it('a column only some logins may read is granted to them alone', async () => {
    const admin = `bi_admin_${suffix}`;
    const { password } = await grantBiLogin(api.db.url, policy, admin, { role: 'admin' }, { reserved: RESERVED });
    const url = new URL(api.db.url);
    url.username = admin;
    url.password = password!;
    urls[admin] = url.toString();
    const [{ n }] = await api.sql<{ n: number }>(`select count(email)::int as n from core.dim_users`) as [{ n: number }];
    expect((await psql(admin, 'select count(email) from bi.dim_users')).rows).toEqual([[String(n)]]);
    expect((await psql(ANALYST, 'select count(email) from bi.dim_users')).error).toMatch(/permission denied for view dim_users/);
    expect(await checkBiDrift(api.db.url, policy)).toMatchObject({ ok: true });
    await revokeBiLogin(api.db.url, policy, admin, RESERVED);
    expect((await psql(ANALYST, 'select count(email) from bi.dim_users')).error).toMatch(/column "email" does not exist/);
  });

  it('a claim value with quotes is stored as a value, not SQL', async () => {
    const login = `bi_odd_${suffix}`;
    const { password } = await grantBiLogin(api.db.url, policy, login, { role: 'viewer', region: ["x'); drop table bi_policy.logins; --"] }, { reserved: RESERVED });
    const url = new URL(api.db.url);
    url.username = login;
    url.password = password!;
    urls[login] = url.toString();
    expect((await psql(login, 'select count(*) from bi.dim_users')).rows).toEqual([['0']]);
    expect((await api.sql(`select count(*)::int as n from bi_policy.logins`))[0]).toEqual({ n: 3 }); // the two above and this one
    await revokeBiLogin(api.db.url, policy, login, RESERVED);
    expect(await api.sql(`select 1 from pg_roles where rolname = ?`, [login])).toEqual([]);
  });
});

describe('drift check (seglayer bi check)', () => {
  it('agrees after grants and after a rebuild swaps the tables under the views', async () => {
    expect(await checkBiDrift(api.db.url, policy)).toMatchObject({ ok: true, problems: [] });
    const build = await runModels(api.db.knex, api.db.url, (await loadTestProject()).models, { select: ['core.dim_users', 'segments.user_segments'] });
    expect(build.ok).toBe(true);
    expect(await checkBiDrift(api.db.url, policy)).toMatchObject({ ok: true, problems: [] });
    expect((await psql(ANALYST, 'select distinct region from bi.dim_users')).rows).toEqual([[regionA]]);
  });

  it('fails when governance.yml hides more, filters by another dimension, or a view was changed by hand', async () => {
    const hidesPlan = structuredClone(policy);
    hidesPlan.roles.analyst!.hidden_members.push('*.plan');
    const planDrift = await checkBiDrift(api.db.url, hidesPlan);
    expect(planDrift.ok).toBe(false);
    expect(planDrift.problems).toContain(`login ${ANALYST} may select bi.dim_users.plan, which governance.yml hides from it`);

    const byCountry = structuredClone(policy);
    byCountry.row_filters = [{ claim: 'region', dimension: 'country' }];
    const rowDrift = await checkBiDrift(api.db.url, byCountry);
    expect(rowDrift.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^view bi\.dim_users differs/), `login ${ANALYST}: stored row values [region=${regionA}], its claims give [country=${regionA}]`]));

    await api.sql(`alter view bi.dim_users reset (security_barrier)`);
    expect((await checkBiDrift(api.db.url, policy)).problems).toEqual([expect.stringMatching(/^view bi\.dim_users has options null/)]);
    const env = { DATABASE_URL: api.db.url, CUBEJS_API_SECRET: 'bi-access-test-secret-0123456789abcdef' };
    const failing = await spawnCli(['bi', 'check'], env).done;
    expect(failing.code).toBe(1);
    expect(failing.output).toMatch(/view bi\.dim_users has options/);
    expect((await spawnCli(['bi', 'refresh'], env).done).code).toBe(0);
    expect(await checkBiDrift(api.db.url, policy)).toMatchObject({ ok: true });
    const passing = await spawnCli(['bi', 'check'], env).done;
    expect(passing.output).toMatch(/views and \d+ logins agree with governance\.yml/);
    expect(passing.code).toBe(0);
    const ls = await spawnCli(['bi', 'ls'], env).done;
    expect(ls.output).toContain(ANALYST);
  }, 480_000); // four CLI processes: slow on a shared 2-core machine
});
