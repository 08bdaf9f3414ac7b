/**
 * What a query may look like before Cube sees it. Cube 0.33 has published advisories
 * for crafted requests, so the gateway accepts only this documented shape: member names
 * are plain `view.member` identifiers, values are bounded strings, lists are bounded.
 */
import { z } from 'zod';

const IDENTIFIER = '[A-Za-z_][A-Za-z0-9_]{0,63}';
export const memberName = z.string().regex(new RegExp(`^${IDENTIFIER}\\.${IDENTIFIER}$`), 'a member name such as user_activity.count');
/** Time dimensions may carry a granularity suffix (`revenue.occurred_at.month`) in order and filters. */
const memberOrGranular = z.string().regex(new RegExp(`^${IDENTIFIER}\\.${IDENTIFIER}(\\.${IDENTIFIER})?$`), 'a member name such as user_activity.count');

const GRANULARITIES = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'] as const;
const OPERATORS = [
  'equals', 'notEquals', 'contains', 'notContains', 'startsWith', 'endsWith', 'gt', 'gte', 'lt', 'lte',
  'set', 'notSet', 'inDateRange', 'notInDateRange', 'beforeDate', 'afterDate',
] as const;

const filterValue = z.string().max(1000);
const dateRange = z.union([z.string().max(64), z.tuple([z.string().max(64), z.string().max(64)])]);

type Filter = { member?: string; dimension?: string; operator: string; values?: string[] } | { and: Filter[] } | { or: Filter[] };
const filter: z.ZodType<Filter> = z.lazy(() =>
  z.union([
    z.object({ member: memberOrGranular, operator: z.enum(OPERATORS), values: z.array(filterValue).max(1000).optional() }).strict(),
    z.object({ dimension: memberOrGranular, operator: z.enum(OPERATORS), values: z.array(filterValue).max(1000).optional() }).strict(),
    z.object({ and: z.array(filter).min(1).max(50) }).strict(),
    z.object({ or: z.array(filter).min(1).max(50) }).strict(),
  ]),
);

export const cubeQuery = z
  .object({
    measures: z.array(memberName).max(50).optional(),
    dimensions: z.array(memberOrGranular).max(50).optional(),
    segments: z.array(memberName).max(20).optional(),
    timeDimensions: z
      .array(
        z.object({
          dimension: memberName,
          granularity: z.enum(GRANULARITIES).optional(),
          dateRange: dateRange.optional(),
          compareDateRange: z.array(dateRange).max(4).optional(),
        }).strict(),
      )
      .max(5)
      .optional(),
    filters: z.array(filter).max(50).optional(),
    order: z.union([z.record(memberOrGranular, z.enum(['asc', 'desc'])), z.array(z.tuple([memberOrGranular, z.enum(['asc', 'desc'])])).max(50)]).optional(),
    limit: z.number().int().min(1).max(50_000).optional(),
    offset: z.number().int().min(0).max(1_000_000).optional(),
    timezone: z.string().regex(/^[A-Za-z0-9_+\-/]{1,64}$/, 'an IANA time zone').optional(),
    total: z.boolean().optional(),
    renewQuery: z.boolean().optional(),
    ungrouped: z.boolean().optional(),
    responseFormat: z.enum(['default', 'compact']).optional(),
  })
  .strict();

/** `query` is one query, or a list (blending / compareDateRange). */
export const loadRequest = z
  .object({
    query: z.union([cubeQuery, z.array(cubeQuery).min(1).max(10)]),
    queryType: z.enum(['multi', 'regular']).optional(),
    cache: z.enum(['stale-if-slow', 'stale-while-revalidate', 'must-revalidate', 'no-cache']).optional(),
  })
  .strict();

export const graphqlRequest = z
  .object({
    query: z.string().min(1).max(20_000),
    variables: z.record(z.string(), z.unknown()).nullable().optional(),
    operationName: z.string().max(200).nullable().optional(),
  })
  .strict();

/** First problem of a failed parse, as `path: message`. */
export function firstIssue(error: z.ZodError): string {
  const { path, message } = explain(error.issues[0] as unknown as Issue, []);
  return `${path.length > 0 ? path.join('.') : '(body)'}: ${message}`;
}

type Issue = { code: string; path: PropertyKey[]; message: string; errors?: Issue[][]; issues?: Issue[] };

/**
 * A union (one query or a list; the kinds of filter; order as object or list) fails as a
 * bare "Invalid input": describe instead the branch that came closest, i.e. with the fewest
 * issues and not refused for its type outright. Paths inside are relative to the union.
 */
function explain(issue: Issue, prefix: PropertyKey[]): { path: PropertyKey[]; message: string } {
  const path = [...prefix, ...issue.path.map(String)];
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
    const score = (branch: Issue[]) => branch.length + (branch.some((i) => i.code === 'invalid_type' && i.path.length === 0) ? 1000 : 0);
    const closest = issue.errors.reduce((best, branch) => (score(branch) < score(best) ? branch : best));
    if (closest[0]) return explain(closest[0], path);
  }
  if (issue.code === 'invalid_key' && issue.issues?.[0]) return { path, message: issue.issues[0].message };
  return { path, message: issue.message };
}
