// @ts-check
/**
 * The shape of governance.yml as a zod schema, with messages a policy author can act on.
 * Plain JavaScript for cube.js (see access-policy.js).
 */
import { z } from 'zod';
import { DEFAULT_QUERY_LIMITS } from './query-guard.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PATTERN = /^[A-Za-z0-9_*]+\.[A-Za-z0-9_*]+$/;
const ZONE = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/;

/** @param {string} zone */
function isTimeZone(zone) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const positive = z.number({ error: 'must be a positive whole number' }).int('must be a positive whole number').min(1, 'must be a positive whole number');

const rolePolicy = z.object(
  {
    all_rows: z.boolean({ error: 'must be true or false' }).optional(),
    can_inspect: z.boolean({ error: 'must be true or false' }).optional(),
    hidden_members: z
      .array(
        z.string({ error: 'must be a view.member pattern' }).refine((pattern) => PATTERN.test(pattern), { error: (issue) => `"${issue.input}" is not a view.member pattern` }),
        { error: 'must be a list of patterns' },
      )
      .default([]),
  },
  { error: 'must be { hidden_members, all_rows } (use {} for a role that hides nothing)' },
).strict();

const queryLimits = z.object(
  {
    timezones: z
      .array(
        z.string().refine((zone) => ZONE.test(zone) && isTimeZone(zone), { error: (issue) => `"${issue.input}" is not an IANA time zone` }),
        { error: 'must be a list of IANA time zones' },
      )
      .min(1, 'must be a list of IANA time zones')
      .default([...DEFAULT_QUERY_LIMITS.timezones]),
    max_rows: positive.default(DEFAULT_QUERY_LIMITS.max_rows),
    max_offset: positive.default(DEFAULT_QUERY_LIMITS.max_offset),
    max_filter_depth: positive.default(DEFAULT_QUERY_LIMITS.max_filter_depth),
    max_filters: positive.default(DEFAULT_QUERY_LIMITS.max_filters),
    max_graphql_queries: positive.default(DEFAULT_QUERY_LIMITS.max_graphql_queries),
  },
  { error: 'must map limits (timezones, max_rows, ...) to values' },
).strict();

export const accessPolicySchema = z
  .object(
    {
      role_claim: z.string({ error: 'must be a claim name' }).regex(NAME, 'must be a claim name'),
      default_role: z.string({ error: 'must name one of the roles' }),
      row_filters: z.array(
        z.object({
          claim: z.string({ error: 'must be a claim name' }).regex(NAME, 'must be a claim name'),
          dimension: z.string({ error: 'must be a dimension name' }).regex(NAME, 'must be a dimension name'),
        }).strict(),
        { error: 'must be a list of { claim, dimension }' },
      ),
      roles: z.record(z.string().regex(NAME, 'role name must be letters, digits and _'), rolePolicy, { error: 'must map role names to { hidden_members, all_rows }' }),
      queries: queryLimits.default(() => queryLimits.parse({})),
    },
    { error: 'must be a mapping of role_claim, default_role, row_filters, roles' },
  )
  .strict()
  .superRefine((policy, ctx) => {
    if (!Object.hasOwn(policy.roles, policy.default_role)) ctx.addIssue({ code: 'custom', path: ['default_role'], message: 'must name one of the roles' });
  });
