/**
 * The bi view plan (src/bi/bi-view-sql.ts): where each governed dimension comes from, view
 * names, and quoting of names and values that reach the DDL.
 */
import { describe, expect, it } from 'vitest';
import { createViewSql, planViews } from '../../src/bi/bi-view-sql.ts';

const filters = [{ claim: 'region', dimension: 'region' }];

describe('planViews', () => {
  it('takes the row dimension from the table, else from the user, else nowhere', () => {
    const views = planViews([
      { schema: 'core', table: 'dim_users', columns: ['user_key', 'region', 'email'] },
      { schema: 'segments', table: 'membership', columns: ['user_key', 'segment'] },
      { schema: 'segments', table: 'summary', columns: ['definition', 'members'] },
    ], filters, ['user_key', 'region', 'email']);
    expect(views.map((v) => [v.name, v.rowFilters[0]!.from, v.columns])).toEqual([
      ['dim_users', 'own', ['user_key', 'region', 'email']],
      ['membership', 'user', ['user_key', 'segment', 'region']],
      ['summary', 'none', ['definition', 'members']],
    ]);
  });

  it('names two tables of one name by their schemas', () => {
    const views = planViews([{ schema: 'marts', table: 'x', columns: ['a'] }, { schema: 'segments', table: 'x', columns: ['a'] }], [], []);
    expect(views.map((v) => v.name)).toEqual(['marts_x', 'segments_x']);
  });
});

describe('createViewSql', () => {
  it('is a security-barrier view filtering by current_user, with names and values quoted', () => {
    const [view] = planViews([{ schema: 'marts', table: 'odd"name', columns: ['user_key', "it's"] }], [{ claim: 'r', dimension: "re'gion" }], ['user_key', "re'gion"]);
    expect(createViewSql(view!, true)).toMatchInlineSnapshot(`
      "create view "bi"."odd""name" with (security_barrier = true) as
      select t."user_key", t."it's", u."re'gion"
        from "marts"."odd""name" t
        left join "core"."dim_users" u on u."user_key" = t."user_key"
        where exists (select 1 from "bi_policy".logins l where l.login = current_user
            and (l.all_rows or exists (select 1 from "bi_policy".row_values r where r.login = l.login))
            and (not exists (select r.value from "bi_policy".row_values r where r.login = l.login and r.dimension = 're''gion') or u."re'gion"::text in (select r.value from "bi_policy".row_values r where r.login = l.login and r.dimension = 're''gion')))"
    `);
  });

  it('without row filters in governance.yml, any login reads every row', () => {
    const [view] = planViews([{ schema: 'marts', table: 'm', columns: ['a'] }], [], []);
    expect(createViewSql(view!, false)).toContain('where exists (select 1 from "bi_policy".logins l where l.login = current_user)');
  });
});
