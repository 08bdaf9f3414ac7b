/**
 * The access policy on its own (src/governance/access-policy.js): a broken governance file
 * is refused with every problem named by file:line and field; membersOf finds every member
 * a query names (nested and/or filters, order as list or object, granularity suffixes);
 * rewriteQuery refuses hidden members wherever they appear and adds one row filter per
 * view the query touches, from whichever claims the file configures.
 */
import { describe, expect, it } from 'vitest';
import { AccessDenied, AccessPolicyError, accessFor, isHidden, loadAccessPolicy, membersOf, rewriteQuery } from '../../src/governance/access-policy.js';
import { DEFAULT_QUERY_LIMITS } from '../../src/governance/query-guard.js';
import { fixture } from '../support/fixture-files.ts';

const GOOD = `role_claim: role
default_role: viewer
row_filters:
  - claim: region
    dimension: region
  - claim: tenant
    dimension: tenant_id
roles:
  admin:
    all_rows: true
  analyst:
    hidden_members: ["*.email"]
  viewer:
    hidden_members: ["*.email", "service_costs.*", "*.total_cost_to_serve"]
`;
const policy = loadAccessPolicy(fixture('governance-good.yml', GOOD));

/** The message of what `load` throws, which must be an AccessPolicyError. */
function refusal(name: string, text: string): { path: string; message: string } {
  const path = fixture(name, text);
  try {
    loadAccessPolicy(path);
  } catch (error) {
    expect(error).toBeInstanceOf(AccessPolicyError);
    return { path, message: (error as Error).message };
  }
  throw new Error(`${name} was accepted`);
}

describe('loadAccessPolicy', () => {
  it('reads a good file, with hidden_members and query limits defaulting', () => {
    expect(policy).toEqual({
      queries: DEFAULT_QUERY_LIMITS,
      role_claim: 'role',
      default_role: 'viewer',
      row_filters: [{ claim: 'region', dimension: 'region' }, { claim: 'tenant', dimension: 'tenant_id' }],
      roles: {
        admin: { all_rows: true, hidden_members: [] },
        analyst: { hidden_members: ['*.email'] },
        viewer: { hidden_members: ['*.email', 'service_costs.*', '*.total_cost_to_serve'] },
      },
    });
  });

  it('reads the project governance.yml', () => {
    const project = loadAccessPolicy(new URL('../../governance.yml', import.meta.url).pathname);
    expect(Object.keys(project.roles).sort()).toEqual(['admin', 'analyst', 'viewer']);
    expect(project.queries.timezones).toContain('UTC');
    expect(accessFor(project, { role: 'admin' }).canInspect).toBe(true);
    expect(accessFor(project, { role: 'analyst', region: 'CA' }).canInspect).toBe(false);
  });

  it('refuses YAML aliases with file:line, before expanding anything', () => {
    const bomb = `role_claim: role\ndefault_role: viewer\nrow_filters: []\nx: &a [1, 1, 1]\nroles:\n  viewer:\n    hidden_members: *a\n`;
    const { path, message } = refusal('governance-alias.yml', bomb);
    expect(message).toContain(`${path}:7: YAML aliases (*a) are not accepted`);
  });

  it('checks the queries section: unknown keys, bad numbers, zones that do not exist', () => {
    const { path, message } = refusal('governance-queries.yml', `${GOOD}queries:\n  timezones: [UTC, "Mars/Olympus"]\n  max_rows: -1\n  max_colour: 3\n`);
    expect(message).toContain(`${path}:16:20 queries.timezones.1: "Mars/Olympus" is not an IANA time zone`);
    expect(message).toContain(`${path}:17:13 queries.max_rows: must be a positive whole number`);
    expect(message).toContain(`${path}:18:3 queries.max_colour: unknown key`);
  });

  it('hides members whatever their case, as the SQL API matches names', () => {
    const viewer = accessFor(policy, { role: 'viewer', region: 'CA' });
    expect(isHidden(viewer, 'user_value.EMAIL')).toBe(true);
    expect(isHidden(viewer, 'Service_Costs.cost_to_serve')).toBe(true);
    expect(isHidden(viewer, 'user_value.count')).toBe(false);
  });

  it('names file:line:column and field of an unknown key, at the top and in a role', () => {
    const { path, message } = refusal('unknown-key.yml', GOOD.replace('default_role: viewer\n', 'default_role: viewer\nrow_filter: []\n').replace('    all_rows: true\n', '    all_rows: true\n    hidden: ["*.email"]\n'));
    expect(message).toContain(`${path}:3:1 row_filter: unknown key`);
    expect(message).toContain(`${path}:12:5 roles.admin.hidden: unknown key`);
  });

  it('names file:line:column and field of a bad member pattern', () => {
    const { path, message } = refusal('bad-pattern.yml', GOOD.replace('["*.email"]', '["email", "user_value.email; drop", "a.b.c"]'));
    expect(message).toContain(`${path}:12:22 roles.analyst.hidden_members.0: "email" is not a view.member pattern`);
    expect(message).toContain(`${path}:12:31 roles.analyst.hidden_members.1: "user_value.email; drop" is not a view.member pattern`);
    expect(message).toContain(`${path}:12:57 roles.analyst.hidden_members.2: "a.b.c" is not a view.member pattern`);
  });

  it('names file:line:column and field of a default_role that is not a role', () => {
    const { path, message } = refusal('bad-default.yml', GOOD.replace('default_role: viewer', 'default_role: guest'));
    expect(message).toBe(`invalid access policy:\n  ${path}:2:15 default_role: must name one of the roles`);
  });

  it('lists every problem at once', () => {
    const { path, message } = refusal('many.yml', `role_claim: "the role"
default_role: viewer
row_filters:
  - claim: region
    dimension: "users.region"
roles:
  viewer:
    all_rows: "yes"
    hidden_members: "*.email"
`);
    expect(message.split('\n').slice(1)).toEqual([
      `  ${path}:1:13 role_claim: must be a claim name`,
      `  ${path}:5:16 row_filters.0.dimension: must be a dimension name`,
      `  ${path}:8:15 roles.viewer.all_rows: must be true or false`,
      `  ${path}:9:21 roles.viewer.hidden_members: must be a list of patterns`,
    ]);
  });

  it('refuses a role that is not a mapping, naming its line, instead of crashing', () => {
    const { path, message } = refusal('empty-role.yml', GOOD.replace('  admin:\n    all_rows: true\n', '  admin:\n').replace('  analyst:\n    hidden_members: ["*.email"]\n', '  analyst: 5\n'));
    expect(message).toContain(`${path}:9:9 roles.admin: must be { hidden_members, all_rows }`);
    expect(message).toContain(`${path}:10:12 roles.analyst: must be { hidden_members, all_rows }`);
  });

  it('refuses broken YAML and missing sections', () => {
    expect(refusal('broken.yml', 'role_claim: [role\n').message).toMatch(/broken\.yml:2:1: not valid YAML: Flow sequence/);
    const { path, message } = refusal('empty.yml', '');
    expect(message).toContain(`${path} role_claim: must be a claim name`);
    expect(message).toContain(`${path} roles: must map role names`);
    expect(message).toContain(`${path} row_filters: must be a list`);
  });
});

describe('membersOf', () => {
  it('finds members in measures, dimensions, segments and time dimensions, once each', () => {
    expect(membersOf({
      measures: ['user_value.count', 'user_value.arpu'],
      dimensions: ['user_value.plan', 'user_value.count'],
      segments: ['user_value.paying'],
      timeDimensions: [{ dimension: 'user_value.signed_up_at', granularity: 'month' }],
    }).sort()).toEqual(['user_value.arpu', 'user_value.count', 'user_value.paying', 'user_value.plan', 'user_value.signed_up_at']);
  });

  it('finds members in nested and/or filters, under member or dimension', () => {
    expect(membersOf({
      measures: ['revenue.count'],
      filters: [
        { member: 'revenue.plan', operator: 'equals', values: ['pro'] },
        { or: [
          { member: 'revenue.country', operator: 'equals', values: ['US'] },
          { and: [
            { dimension: 'revenue.currency', operator: 'set' },
            { or: [{ member: 'user_value.email', operator: 'contains', values: ['@'] }] },
          ] },
        ] },
      ],
    }).sort()).toEqual(['revenue.count', 'revenue.country', 'revenue.currency', 'revenue.plan', 'user_value.email']);
  });

  it('finds members in order as a list of pairs, as a list of { id }, and as an object', () => {
    expect(membersOf({ order: [['a.x', 'asc'], ['b.y', 'desc']] }).sort()).toEqual(['a.x', 'b.y']);
    expect(membersOf({ order: [{ id: 'a.x', desc: true }] })).toEqual(['a.x']);
    expect(membersOf({ order: { 'a.x': 'asc', 'c.z': 'desc' } }).sort()).toEqual(['a.x', 'c.z']);
  });

  it('strips a granularity suffix wherever it appears', () => {
    expect(membersOf({
      dimensions: ['revenue.occurred_at.month'],
      filters: [{ member: 'revenue.occurred_at.day', operator: 'set' }],
      order: { 'revenue.occurred_at.week': 'asc' },
    })).toEqual(['revenue.occurred_at']);
  });

  it('finds nothing in an empty query, and ignores non-string names', () => {
    expect(membersOf({})).toEqual([]);
    expect(membersOf({ measures: [42, null], filters: [null, { member: 7 }] })).toEqual([]);
  });
});

describe('rewriteQuery', () => {
  const analyst = { role: 'analyst', region: 'CA' };

  it('adds one row filter per view the query touches, wherever it touches it', () => {
    const query = {
      measures: ['user_value.count'],
      filters: [{ or: [{ member: 'revenue.plan', operator: 'equals', values: ['pro'] }] }],
      order: { 'user_activity.occurred_at.day': 'asc' },
    };
    const rewritten = rewriteQuery(policy, query, analyst);
    expect(rewritten.filters).toEqual([
      query.filters[0],
      { member: 'user_value.region', operator: 'equals', values: ['CA'] },
      { member: 'revenue.region', operator: 'equals', values: ['CA'] },
      { member: 'user_activity.region', operator: 'equals', values: ['CA'] },
    ]);
    expect(rewritten.measures).toBe(query.measures);
    // The caller's query object is left as it was.
    expect(query.filters).toHaveLength(1);
  });

  it('filters on every configured claim, with list values as they are', () => {
    const rewritten = rewriteQuery(policy, { measures: ['user_value.count'] }, { role: 'viewer', region: ['CA', 'NY'], tenant: 't1' });
    expect(rewritten.filters).toEqual([
      { member: 'user_value.region', operator: 'equals', values: ['CA', 'NY'] },
      { member: 'user_value.tenant_id', operator: 'equals', values: ['t1'] },
    ]);
  });

  it('leaves an all-rows role without row claims unfiltered, and filters it when it carries one', () => {
    const query = { measures: ['user_value.count'] };
    expect(rewriteQuery(policy, query, { role: 'admin' })).toBe(query);
    expect(rewriteQuery(policy, query, { role: 'admin', tenant: 't9' }).filters).toEqual([{ member: 'user_value.tenant_id', operator: 'equals', values: ['t9'] }]);
  });

  it('refuses hidden members in nested filters, order and time dimensions, naming them', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ measures: ['user_value.count'], filters: [{ and: [{ or: [{ member: 'user_value.email', operator: 'set' }] }] }] }, 'user_value.email'],
      [{ measures: ['user_value.count'], order: [['revenue.email', 'asc']] }, 'revenue.email'],
      [{ measures: ['user_value.count'], order: { 'user_value.email': 'asc' } }, 'user_value.email'],
      [{ measures: ['user_value.count'], dimensions: ['user_value.email.day'] }, 'user_value.email'],
    ];
    for (const [query, member] of cases) {
      expect(() => rewriteQuery(policy, query, analyst)).toThrow(new AccessDenied(`role "analyst" may not use ${member}`));
    }
    expect(() => rewriteQuery(policy, { measures: ['service_costs.cost_to_serve', 'user_value.total_cost_to_serve'] }, { role: 'viewer', region: 'CA' }))
      .toThrow('role "viewer" may not use service_costs.cost_to_serve, user_value.total_cost_to_serve');
    // The same members are fine for a role that does not hide them.
    expect(() => rewriteQuery(policy, { measures: ['service_costs.cost_to_serve'] }, analyst)).not.toThrow();
  });

  it('refuses unknown roles, missing row claims and malformed claim values', () => {
    const query = { measures: ['user_value.count'] };
    const denied = (claims: Record<string, unknown> | undefined) => {
      try {
        rewriteQuery(policy, query, claims);
      } catch (error) {
        expect(error).toBeInstanceOf(AccessDenied);
        expect((error as AccessDenied).status).toBe(403);
        return (error as Error).message;
      }
      throw new Error(`${JSON.stringify(claims)} was accepted`);
    };
    expect(denied({ role: 'root', region: 'CA' })).toBe('unknown role in claim "role"; known roles: admin, analyst, viewer');
    expect(denied({ role: 'constructor', region: 'CA' })).toMatch(/unknown role/);
    expect(denied({ role: 'hasOwnProperty', region: 'CA' })).toMatch(/unknown role/);
    expect(denied({ role: 'analyst' })).toBe('role "analyst" must carry one of the claims "region", "tenant"');
    expect(denied(undefined)).toBe('role "viewer" must carry one of the claims "region", "tenant"');
    expect(denied({ role: 'analyst', region: [] })).toBe('claim "region" must be a non-empty string or list of strings');
    expect(denied({ role: 'analyst', region: ['CA', 7] })).toMatch(/claim "region" must be/);
    expect(denied({ role: 'analyst', region: { $ne: 'x' } })).toMatch(/claim "region" must be/);
  });

  it('reads the claims the file names: another claim and role claim work the same way', () => {
    const custom = loadAccessPolicy(fixture('governance-country.yml', `role_claim: access_role
default_role: reader
row_filters:
  - claim: country
    dimension: country
roles:
  reader: {}
  boss:
    all_rows: true
`));
    expect(rewriteQuery(custom, { measures: ['revenue.count'] }, { access_role: 'reader', country: 'DE' }).filters)
      .toEqual([{ member: 'revenue.country', operator: 'equals', values: ['DE'] }]);
    expect(() => rewriteQuery(custom, { measures: ['revenue.count'] }, { role: 'admin', region: 'CA' })).toThrow('role "reader" must carry one of the claims "country"');
    expect(accessFor(custom, { access_role: 'boss' }).allRows).toBe(true);
  });
});

describe('isHidden', () => {
  it('matches * within one name only', () => {
    const access = accessFor(policy, { role: 'viewer', region: 'CA' });
    expect(isHidden(access, 'user_value.email')).toBe(true);
    expect(isHidden(access, 'service_costs.cost_type')).toBe(true);
    expect(isHidden(access, 'user_value.email_domain')).toBe(false);
    expect(isHidden(access, 'user_value.count')).toBe(false);
    expect(isHidden(access, 'service_costsX.cost_type')).toBe(false);
  });
});
