// @ts-check
/**
 * The access policy (governance.yml): which rows and members a verified token may see.
 *
 * Plain JavaScript on purpose: cube.js imports it, and cube.js must also load in the
 * official Cube 1.x image, which runs no TypeScript. Depends only on `yaml` and `zod`.
 */
import { readFileSync } from 'node:fs';
import { UserError } from '../errors/user-error.js';
import { issuesInYaml, parseYamlFile } from '../errors/yaml-location.js';
import { accessPolicySchema } from './access-policy-schema.js';
import { DEFAULT_QUERY_LIMITS, checkQuery } from './query-guard.js';

/**
 * @typedef {{ claim: string, dimension: string }} RowFilterRule
 * @typedef {{ all_rows?: boolean, can_inspect?: boolean, hidden_members: string[] }} RolePolicy
 * @typedef {import('./query-guard.js').QueryLimits} QueryLimits
 * @typedef {{ role_claim: string, default_role: string, row_filters: RowFilterRule[], roles: Record<string, RolePolicy>, queries: QueryLimits }} AccessPolicy
 * @typedef {{ role: string, hidden: RegExp[], rowFilters: { dimension: string, values: string[] }[], allRows: boolean, canInspect: boolean }} CallerAccess
 */

/** A refusal the caller can act on. `type: 'UserError'` makes Cube answer 4xx, not 500. */
export class AccessDenied extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'AccessDenied';
    this.type = 'UserError';
    this.status = 403;
  }
}

export class AccessPolicyError extends UserError {}

/**
 * Reads and checks governance.yml (zod: access-policy-schema.js); every problem is named
 * with its file, line, column and field, all of them at once.
 * @param {string} file
 * @returns {AccessPolicy}
 */
export function loadAccessPolicy(file) {
  const text = readFileSync(file, 'utf8');
  const { doc, lineCounter, issues } = parseYamlFile(text, file);
  const heading = { heading: 'invalid access policy' };
  if (issues.length > 0) throw new AccessPolicyError(issues, heading);
  const parsed = accessPolicySchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) {
    const knownKeys = (/** @type {(string|number)[]} */ path) => (path.join('.') === 'queries' ? Object.keys(DEFAULT_QUERY_LIMITS) : undefined);
    throw new AccessPolicyError(issuesInYaml(parsed.error.issues, { doc, lineCounter, file, knownKeys }), heading);
  }
  return /** @type {AccessPolicy} */ (parsed.data);
}

/** @type {Map<string, RegExp>} */
const compiledPatterns = new Map();

/** @param {string} pattern */
function patternToRegExp(pattern) {
  // Compiled once per pattern: accessFor runs on every request (gateway and queryRewrite).
  let compiled = compiledPatterns.get(pattern);
  if (!compiled) compiledPatterns.set(pattern, (compiled = compilePattern(pattern)));
  return compiled;
}

/** @param {string} pattern */
function compilePattern(pattern) {
  // Case-insensitive, as Cube's SQL API is with names.
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.]/g, '\\.')).join('[A-Za-z0-9_]*')}$`, 'i');
}

/**
 * What the holder of these (already verified) claims may see.
 * @param {AccessPolicy} policy
 * @param {Record<string, unknown> | undefined} claims
 * @returns {CallerAccess}
 */
export function accessFor(policy, claims = {}) {
  const roleClaim = claims[policy.role_claim];
  const role = roleClaim === undefined ? policy.default_role : roleClaim;
  if (typeof role !== 'string' || !Object.hasOwn(policy.roles, role)) {
    throw new AccessDenied(`unknown role in claim "${policy.role_claim}"; known roles: ${Object.keys(policy.roles).join(', ')}`);
  }
  const rolePolicy = /** @type {RolePolicy} */ (policy.roles[role]);
  const rowFilters = [];
  for (const rule of policy.row_filters) {
    const value = claims[rule.claim];
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0 || !values.every((v) => typeof v === 'string' && v.length > 0)) {
      throw new AccessDenied(`claim "${rule.claim}" must be a non-empty string or list of strings`);
    }
    rowFilters.push({ dimension: rule.dimension, values: /** @type {string[]} */ (values) });
  }
  const allRows = rolePolicy.all_rows === true;
  if (rowFilters.length === 0 && !allRows && policy.row_filters.length > 0) {
    throw new AccessDenied(`role "${role}" must carry one of the claims ${policy.row_filters.map((r) => `"${r.claim}"`).join(', ')}`);
  }
  return { role, allRows, rowFilters, canInspect: rolePolicy.can_inspect === true, hidden: rolePolicy.hidden_members.map(patternToRegExp) };
}

/** @param {CallerAccess} access @param {string} member */
export function isHidden(access, member) {
  return access.hidden.some((pattern) => pattern.test(member));
}

/**
 * Every member a Cube query names, wherever it names it.
 * @param {any} query
 * @returns {string[]}
 */
export function membersOf(query) {
  const members = new Set();
  /** @param {unknown} name */
  const add = (name) => { if (typeof name === 'string') members.add(name.split('.').slice(0, 2).join('.')); };
  for (const name of [...(query.measures ?? []), ...(query.dimensions ?? []), ...(query.segments ?? [])]) add(name);
  for (const td of query.timeDimensions ?? []) add(td?.dimension);
  /** @param {any[]} filters */
  const walk = (filters) => {
    for (const f of filters ?? []) {
      if (f?.and) walk(f.and);
      else if (f?.or) walk(f.or);
      else { add(f?.member); add(f?.dimension); }
    }
  };
  walk(query.filters);
  if (Array.isArray(query.order)) for (const entry of query.order) add(Array.isArray(entry) ? entry[0] : entry?.id);
  else if (query.order && typeof query.order === 'object') for (const name of Object.keys(query.order)) add(name);
  return [...members];
}

/**
 * The words of a refusal of hidden members. The gateway uses them for its own 403 and to
 * recognise this refusal when GraphQL hands it back as a bare message.
 * @param {string} role @param {string[]} members
 */
export function refusalOfMembers(role, members) {
  return `role "${role}" may not use ${members.join(', ')}`;
}

/**
 * Checks every value of the query (query-guard.js: Cube pastes some into SQL), refuses
 * hidden members, and adds one filter per row rule for every cube or view the query
 * touches, so a restricted token never reads another group's rows.
 * @param {AccessPolicy} policy
 * @param {any} query
 * @param {Record<string, unknown> | undefined} claims
 */
export function rewriteQuery(policy, query, claims) {
  const access = accessFor(policy, claims);
  checkQuery(policy.queries, access, query);
  const members = membersOf(query);
  const hidden = members.filter((m) => isHidden(access, m));
  if (hidden.length > 0) throw new AccessDenied(refusalOfMembers(access.role, hidden));
  if (access.rowFilters.length === 0) return query;
  const cubes = [...new Set(members.map((m) => m.split('.')[0]))];
  const rowFilters = cubes.flatMap((cube) =>
    access.rowFilters.map((rule) => ({ member: `${cube}.${rule.dimension}`, operator: 'equals', values: rule.values })),
  );
  return { ...query, filters: [...(query.filters ?? []), ...rowFilters] };
}
