/**
 * The query checks on their own (src/governance/query-guard.js, src/serve/graphql-guard.ts):
 * every value Cube 0.33 pastes into SQL text is held to an allowlist or a strict shape, in
 * the client's form and in the form Cube normalizes to before queryRewrite; GraphQL
 * documents are checked for the same values wherever they hide (inline, variables,
 * defaults, fragments, aliases) without recursion on deep input.
 */
import { describe, expect, it } from 'vitest';
import { checkQuery, DEFAULT_QUERY_LIMITS, jsonNestingDepth, QueryRefused } from '../../src/governance/query-guard.js';
import { checkGraphqlDocument, documentDepth, GraphqlRefused } from '../../src/serve/graphql-guard.ts';

const caller = { canInspect: false };
const operator = { canInspect: true };
const ok = (query: unknown, access = caller) => expect(() => checkQuery(DEFAULT_QUERY_LIMITS, access, query)).not.toThrow();
const refused = (query: unknown, message: RegExp | string, access = caller) => {
  let error: unknown;
  try {
    checkQuery(DEFAULT_QUERY_LIMITS, access, query);
  } catch (caught) {
    error = caught;
  }
  expect(error, String(message)).toBeInstanceOf(QueryRefused);
  expect((error as Error).message).toMatch(message);
  expect((error as { type?: string }).type).toBe('UserError');
};

describe('checkQuery', () => {
  it('accepts a query as a client sends it and as Cube normalizes it', () => {
    ok({ measures: ['user_value.count'], dimensions: ['user_value.plan', 'user_value.signed_up_at.month'], timeDimensions: [{ dimension: 'user_value.signed_up_at', granularity: 'week', dateRange: 'last 7 days' }], order: { 'user_value.count': 'desc' }, limit: 10, offset: 5, timezone: 'Europe/Berlin', filters: [{ or: [{ member: 'user_value.region', operator: 'equals', values: ["O'Brien; drop table x"] }] }] });
    ok({ measures: ['user_value.count'], timeDimensions: [{ dimension: 'user_value.signed_up_at', granularity: null, dateRange: ['2024-01-01T00:00:00.000', '2024-01-31T23:59:59.999'] }], order: [['user_value.count', 'asc']], timezone: 'UTC', limit: 10000, filters: [], dimensions: [] });
    ok({ measures: ['user_value.count'], order: [{ id: 'user_value.count', desc: true }] });
  });

  it.for([
    ['a zone outside the allowlist', { timezone: 'Mars/Olympus' }, /timezone: "Mars\/Olympus" is not one of the allowed time zones \(UTC, /],
    ['a quote in the zone', { timezone: "UTC'--" }, /timezone: /],
    ['a zone of another type', { timezone: ['UTC'] }, /timezone: /],
    ['a granularity outside the list', { timeDimensions: [{ dimension: 'user_value.signed_up_at', granularity: 'fortnight' }] }, /granularity "fortnight" is not one of second, /],
    ['a granularity suffix outside the list', { dimensions: ['user_value.signed_up_at.eon'] }, /dimensions\.0: granularity "eon"/],
    ['a quote in a date range', { timeDimensions: [{ dimension: 'user_value.signed_up_at', dateRange: ["2024-01-01'", '2024-02-01'] }] }, /dateRange: must be a date/],
    ['a date Cube could not read', { timeDimensions: [{ dimension: 'user_value.signed_up_at', dateRange: ['Invalid date', 'Invalid date'] }] }, /dateRange/],
    ['three dates in a range', { timeDimensions: [{ dimension: 'user_value.signed_up_at', dateRange: ['2024-01-01', '2024-01-02', '2024-01-03'] }] }, /dateRange/],
    ['an order direction that is SQL', { order: { 'user_value.count': 'desc, (select 1)' } }, /order\.0: direction must be "asc" or "desc"/],
    ['an order member that is SQL', { order: [['(select 1)', 'asc']] }, /order\.0: must name a member/],
    ['a limit as text', { limit: '10; select 1' }, /limit: must be a whole number from 1 to 50000/],
    ['a limit over the maximum', { limit: 50_001 }, /limit: must be a whole number/],
    ['a fractional offset', { offset: 1.5 }, /offset: must be a whole number from 0 to 1000000/],
    ['a member expression', { measures: [{ expression: 'select 1', cubeName: 'x', name: 'y' }] }, /measures\.0: must be a member name/],
    ['a member name with SQL', { dimensions: ['user_value.plan"--'] }, /dimensions\.0: must be a member name/],
    ['an operator outside the list', { filters: [{ member: 'user_value.plan', operator: 'equals; --', values: ['x'] }] }, /filters\.0\.operator: "equals; --" is not a filter operator/],
    ['a filter value that is an object', { filters: [{ member: 'user_value.plan', operator: 'equals', values: [{ sql: 'x' }] }] }, /filters\.0\.values\.0: must be a string/],
    ['and and or in one filter', { filters: [{ and: [], or: [] }] }, /a logical filter holds only "and" or "or"/],
    ['renewQuery from a caller', { renewQuery: true }, /renewQuery: only roles with can_inspect/],
    ['renewQuery as text', { renewQuery: 'yes' }, /renewQuery: must be true or false/],
  ] as const)('refuses %s', ([, fields, message]) => refused({ measures: ['user_value.count'], ...fields }, message));

  it('lets an operator renew', () => ok({ measures: ['user_value.count'], renewQuery: true }, operator));

  it('walks and/or trees without recursion: depth 8 passes, 9 and 100,000 are refused', () => {
    const nest = (depth: number) => {
      let filter: unknown = { member: 'user_value.plan', operator: 'set' };
      for (let i = 0; i < depth; i++) filter = { and: [filter] };
      return [filter];
    };
    ok({ measures: ['user_value.count'], filters: nest(8) });
    refused({ measures: ['user_value.count'], filters: nest(9) }, /and\/or filters nest deeper than 8 levels/);
    refused({ measures: ['user_value.count'], filters: nest(100_000) }, /nest deeper than 8 levels/);
  });

  it('bounds the number of filters', () => {
    const filters = Array.from({ length: 201 }, () => ({ member: 'user_value.plan', operator: 'set' }));
    refused({ measures: ['user_value.count'], filters }, /more than 200 filters/);
  });
});

describe('jsonNestingDepth and documentDepth', () => {
  it('count brackets outside strings only', () => {
    expect(jsonNestingDepth('{"a":[1,{"b":"[[[[{{{"}]}')).toBe(3);
    expect(jsonNestingDepth('{"a":"\\"[[["}')).toBe(1);
    expect(documentDepth('{ cube(where: {a: {b: "{{{{"}}) { x } } # {{{{{{')).toBe(4);
    expect(documentDepth('{ a(s: """ {{{{ """) { b } }')).toBe(2);
    expect(jsonNestingDepth('['.repeat(1_000_000))).toBe(1_000_000);
  });
});

describe('checkGraphqlDocument', () => {
  const access = { role: 'analyst', hidden: [/^user_value\.email$/i], rowFilters: [], allRows: false, canInspect: false };
  const check = (document: string, variables?: Record<string, unknown>) => checkGraphqlDocument(document, variables, access, DEFAULT_QUERY_LIMITS);
  const refusedDoc = (document: string, message: RegExp, variables?: Record<string, unknown>, status = 400) => {
    let error: unknown;
    try {
      check(document, variables);
    } catch (caught) {
      error = caught;
    }
    expect(error, document).toBeInstanceOf(GraphqlRefused);
    expect((error as Error).message).toMatch(message);
    expect((error as GraphqlRefused).status).toBe(status);
  };

  it('counts cube fields, aliases included', () => {
    expect(check('{ cube { user_value { count } } }')).toEqual({ queries: 1 });
    expect(check('{ a: cube { user_value { count } } b: cube(timezone: "UTC") { user_value { count } } }')).toEqual({ queries: 2 });
  });

  it('finds a hostile time zone inline, in a variable, in a default, in a fragment', () => {
    const tz = "UTC') + (select 1) * interval '1 day";
    refusedDoc(`{ cube(timezone: ${JSON.stringify(tz)}) { user_value { count } } }`, /timezone: .* is not one of the allowed/);
    refusedDoc('query($t: String) { cube(timezone: $t) { user_value { count } } }', /timezone/, { t: tz });
    refusedDoc(`query($t: String = ${JSON.stringify(tz)}) { cube(timezone: $t) { user_value { count } } }`, /timezone/);
    refusedDoc(`query { ...A } fragment A on Query { ...B } fragment B on Query { cube(timezone: ${JSON.stringify(tz)}) { user_value { count } } }`, /timezone/);
    refusedDoc('query { ...A } fragment A on Query { ...A cube(limit: 0) { user_value { count } } }', /limit: must be a whole number/);
  });

  it('refuses introspection and hidden members for this role, and mutations for everyone', () => {
    refusedDoc('{ __schema { types { name } } }', /introspection is not available to role "analyst"/, undefined, 403);
    refusedDoc('{ cube { user_value { count EMAIL } } }', /role "analyst" may not use user_value.EMAIL/, undefined, 403);
    refusedDoc('mutation { cube { x } }', /mutations are not served/);
  });

  it('refuses a syntax error with its message, and deep documents before parsing them', () => {
    refusedDoc('{ cube { user_value { count }', /GraphQL syntax error: Syntax Error/);
    refusedDoc(`{ cube(where: ${'{a:'.repeat(50_000)}1${'}'.repeat(50_000)}) { x } }`, /nests 50002 levels deep; at most 24/);
  });

  it('bounds cube fields and aliases', () => {
    refusedDoc(`{ ${Array.from({ length: 6 }, (_, i) => `c${i}: cube { user_value { count } }`).join(' ')} }`, /asks 6 cube queries; at most 5/);
    refusedDoc(`{ cube { user_value { ${Array.from({ length: 51 }, (_, i) => `a${i}: count`).join(' ')} } } }`, /51 aliases; at most 50/);
  });
});
