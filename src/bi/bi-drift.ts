/**
 * `seglayer bi check`: does what is deployed still say what governance.yml and the catalog
 * say now? Regenerates every view into pg_temp and compares PostgreSQL's own rendering
 * of both (pg_get_viewdef, reloptions), re-derives each login's access from its stored
 * claims, and compares the column grants and stored row values with it; also that no
 * login can read a table outside `bi`. Read-only: the transaction is rolled back.
 */
import pg from 'pg';
import { AccessDenied, accessFor, type AccessPolicy } from '../governance/access-policy.js';
import { plannedViews, visibleTo } from './bi-logins.ts';
import { BI_SCHEMA, POLICY_SCHEMA, createViewSql, ident } from './bi-view-sql.ts';

export interface DriftReport {
  ok: boolean;
  /** One line per disagreement, naming the view, login or column. */
  problems: string[];
  views: number;
  logins: number;
}

type Definition = { name: string; definition: string; options: string[] | null };

async function definitions(db: pg.Client, schema: string): Promise<Map<string, Definition>> {
  const { rows } = await db.query<Definition>(
    `select c.relname::text as name, pg_get_viewdef(c.oid) as definition, c.reloptions as options
     from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'v'`, [schema]);
  return new Map(rows.map((r) => [r.name, r]));
}

export async function checkBiDrift(ownerUrl: string, policy: AccessPolicy): Promise<DriftReport> {
  const db = new pg.Client({ connectionString: ownerUrl, application_name: 'seglayer bi check' });
  db.on('error', () => {});
  await db.connect();
  const problems: string[] = [];
  try {
    await db.query('begin');
    const { rows: [ready] } = await db.query<{ bi: boolean }>(`select to_regnamespace($1) is not null as bi`, [BI_SCHEMA]);
    if (!ready!.bi) return { ok: true, problems: [], views: 0, logins: 0 };
    await db.query(`set local search_path = ''`);
    const views = await plannedViews(db, policy);
    const governed = policy.row_filters.length > 0;
    for (const view of views) await db.query(createViewSql(view, governed, 'pg_temp'));
    const { rows: [temp] } = await db.query<{ schema: string }>(`select nspname::text as schema from pg_namespace where oid = pg_my_temp_schema()`);
    const expected = await definitions(db, temp!.schema);
    const deployed = await definitions(db, BI_SCHEMA);
    for (const view of views) {
      const have = deployed.get(view.name);
      const want = expected.get(view.name)!;
      if (!have) problems.push(`view bi.${view.name} is missing (a new ${view.source.schema}.${view.source.table}?): run \`seglayer bi refresh\``);
      else if (have.definition !== want.definition) problems.push(`view bi.${view.name} differs from the one governance.yml and ${view.source.schema}.${view.source.table} give now: run \`seglayer bi refresh\``);
      else if (JSON.stringify(have.options) !== JSON.stringify(want.options)) problems.push(`view bi.${view.name} has options ${JSON.stringify(have.options)}, expected ${JSON.stringify(want.options)}`);
    }
    for (const name of deployed.keys()) if (!views.some((v) => v.name === name)) problems.push(`view bi.${name} is not generated from the catalog any more: run \`seglayer bi refresh\``);

    const { rows: logins } = await db.query<{ login: string; role: string; all_rows: boolean; claims: Record<string, unknown> }>(
      `select login::text, role, all_rows, claims from ${ident(POLICY_SCHEMA)}.logins order by login`);
    for (const login of logins) {
      let access;
      try {
        access = accessFor(policy, login.claims);
      } catch (error) {
        if (!(error instanceof AccessDenied)) throw error;
        problems.push(`login ${login.login}: its claims are refused by governance.yml now (${error.message}): re-grant or revoke it`);
        continue;
      }
      if (access.role !== login.role || access.allRows !== login.all_rows) problems.push(`login ${login.login}: stored role ${login.role}${login.all_rows ? ' (all rows)' : ''}, governance.yml gives ${access.role}${access.allRows ? ' (all rows)' : ''}`);
      const { rows: stored } = await db.query<{ dimension: string; value: string }>(`select dimension, value from ${ident(POLICY_SCHEMA)}.row_values where login = $1 order by 1, 2`, [login.login]);
      const want = access.rowFilters.flatMap((f) => [...new Set(f.values)].map((value) => `${f.dimension}=${value}`)).sort();
      const have = stored.map((r) => `${r.dimension}=${r.value}`).sort();
      if (JSON.stringify(want) !== JSON.stringify(have)) problems.push(`login ${login.login}: stored row values [${have.join(', ')}], its claims give [${want.join(', ')}]`);
      const { rows: grants } = await db.query<{ view: string; column: string }>(
        `select c.relname::text as view, a.attname::text as column from pg_class c join pg_namespace n on n.oid = c.relnamespace
         join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
         where n.nspname = $1 and c.relkind = 'v' and has_column_privilege($2, c.oid, a.attnum, 'SELECT')`, [BI_SCHEMA, login.login]);
      const granted = new Set(grants.map((g) => `${g.view}.${g.column}`));
      const allowed = new Set(visibleTo(policy, login.claims, views).flatMap((v) => v.columns.map((c) => `${v.view}.${c}`)));
      for (const column of granted) if (!allowed.has(column)) problems.push(`login ${login.login} may select bi.${column}, which governance.yml hides from it`);
      for (const column of allowed) if (!granted.has(column)) problems.push(`login ${login.login} may not select bi.${column}, which governance.yml allows`);
      const { rows: outside } = await db.query<{ name: string }>(
        `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p', 'v', 'm', 'f') and n.nspname not in ($1, 'pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
           and has_table_privilege($2, c.oid, 'SELECT')`, [BI_SCHEMA, login.login]);
      for (const { name } of outside) problems.push(`login ${login.login} can read ${name}, outside schema bi`);
    }
    return { ok: problems.length === 0, problems, views: views.length, logins: logins.length };
  } finally {
    await db.query('rollback').catch(() => {});
    await db.end().catch(() => {});
  }
}
