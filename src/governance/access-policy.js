// @ts-check
/**
 * The access policy (governance.yml): which rows and members a verified token may see.
 *
 * Plain JavaScript on purpose: cube.js imports it, and cube.js must also load in the
 * official Cube 1.x image, which runs no TypeScript. Depends only on `yaml`.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { firstAlias } from '../yaml/alias-guard.js';
import { DEFAULT_QUERY_LIMITS, checkQuery } from './query-guard.js';

/**
 * @typedef {{ claim: string, dimension: string }} RowFilterRule
 * @typedef {{ all_rows?: boolean, can_inspect?: boolean, hidden_members: string[] }} RolePolicy
 * @typedef {import('./query-guard.js').QueryLimits} QueryLimits
 * @typedef {{ role_claim: string, default_role: string, row_filters: RowFilterRule[], roles: Record<string, RolePolicy>, queries: QueryLimits }} AccessPolicy
 * @typedef {{ role: string, hidden: RegExp[], rowFilters: { dimension: string, values: string[] }[], allRows: boolean, canInspect: boolean }} CallerAccess
 */

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PATTERN = /^[A-Za-z0-9_*]+\.[A-Za-z0-9_*]+$/;

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

export class AccessPolicyError extends Error {}

/**
 * Reads and checks governance.yml; every problem is named with its line.
 * @param {string} file
 * @returns {AccessPolicy}
 */
export function loadAccessPolicy(file) {
  const text = readFileSync(file, 'utf8');
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new AccessPolicyError(`${file}: ${doc.errors[0]?.message}`);
  /** @type {string[]} */
  const problems = [];
  const alias = firstAlias(doc, text);
  if (alias) problems.push(`${file}:${alias.line}: ${alias.message}`);
  if (problems.length > 0) throw new AccessPolicyError(`invalid access policy:\n  ${problems.join('\n  ')}`);
  /** @param {(string|number)[]} path */
  const where = (path) => {
    // The value's node, or for a key without a value (`viewer:`), the key's node.
    const parent = /** @type {any} */ (path.length > 0 ? doc.getIn(path.slice(0, -1), true) : undefined);
    const pair = parent?.items?.find((/** @type {any} */ item) => item?.key?.value === path[path.length - 1]);
    const node = /** @type {any} */ (doc.getIn(path, true)) ?? pair?.key;
    const offset = node?.range?.[0];
    const line = offset === undefined ? undefined : text.slice(0, offset).split('\n').length;
    return `${file}${line ? `:${line}` : ''} ${path.join('.') || '(top)'}`;
  };
  const policy = /** @type {any} */ (doc.toJS()) ?? {};
  for (const key of Object.keys(policy)) {
    if (!['role_claim', 'default_role', 'row_filters', 'roles', 'queries'].includes(key)) problems.push(`${where([key])}: unknown key`);
  }
  if (typeof policy.role_claim !== 'string' || !NAME.test(policy.role_claim)) problems.push(`${where(['role_claim'])}: must be a claim name`);
  if (!policy.roles || typeof policy.roles !== 'object' || Array.isArray(policy.roles)) {
    problems.push(`${where(['roles'])}: must map role names to { hidden_members, all_rows }`);
  } else {
    for (const [role, rolePolicy] of Object.entries(policy.roles)) {
      if (!NAME.test(role)) problems.push(`${where(['roles', role])}: role name must be letters, digits and _`);
      if (!rolePolicy || typeof rolePolicy !== 'object' || Array.isArray(rolePolicy)) {
        problems.push(`${where(['roles', role])}: must be { hidden_members, all_rows } (use {} for a role that hides nothing)`);
        continue;
      }
      const hidden = rolePolicy?.hidden_members ?? [];
      if (!Array.isArray(hidden)) problems.push(`${where(['roles', role, 'hidden_members'])}: must be a list of patterns`);
      else hidden.forEach((pattern, i) => {
        if (typeof pattern !== 'string' || !PATTERN.test(pattern)) problems.push(`${where(['roles', role, 'hidden_members', i])}: "${pattern}" is not a view.member pattern`);
      });
      for (const flag of ['all_rows', 'can_inspect']) {
        if (rolePolicy?.[flag] !== undefined && typeof rolePolicy[flag] !== 'boolean') problems.push(`${where(['roles', role, flag])}: must be true or false`);
      }
      for (const key of Object.keys(rolePolicy ?? {})) {
        if (!['hidden_members', 'all_rows', 'can_inspect'].includes(key)) problems.push(`${where(['roles', role, key])}: unknown key`);
      }
    }
    if (typeof policy.default_role !== 'string' || !(policy.default_role in policy.roles)) problems.push(`${where(['default_role'])}: must name one of the roles`);
  }
  if (!Array.isArray(policy.row_filters)) problems.push(`${where(['row_filters'])}: must be a list of { claim, dimension }`);
  else policy.row_filters.forEach((/** @type {any} */ rule, /** @type {number} */ i) => {
    if (typeof rule?.claim !== 'string' || !NAME.test(rule.claim)) problems.push(`${where(['row_filters', i, 'claim'])}: must be a claim name`);
    if (typeof rule?.dimension !== 'string' || !NAME.test(rule.dimension)) problems.push(`${where(['row_filters', i, 'dimension'])}: must be a dimension name`);
  });
  policy.queries = readQueryLimits(policy.queries, problems, where);
  if (problems.length > 0) throw new AccessPolicyError(`invalid access policy:\n  ${problems.join('\n  ')}`);
  for (const role of Object.values(policy.roles)) role.hidden_members ??= [];
  return policy;
}

/**
 * The `queries:` section (what any query may ask for), over the defaults.
 * @param {any} section @param {string[]} problems @param {(path: (string|number)[]) => string} where
 * @returns {QueryLimits}
 */
function readQueryLimits(section, problems, where) {
  if (section === undefined || section === null) return { ...DEFAULT_QUERY_LIMITS, timezones: [...DEFAULT_QUERY_LIMITS.timezones] };
  if (typeof section !== 'object' || Array.isArray(section)) {
    problems.push(`${where(['queries'])}: must map limits (timezones, max_rows, ...) to values`);
    return DEFAULT_QUERY_LIMITS;
  }
  const limits = { ...DEFAULT_QUERY_LIMITS, ...section };
  for (const key of Object.keys(section)) {
    if (!(key in DEFAULT_QUERY_LIMITS)) problems.push(`${where(['queries', key])}: unknown key; known: ${Object.keys(DEFAULT_QUERY_LIMITS).join(', ')}`);
    else if (key !== 'timezones' && (!Number.isInteger(section[key]) || section[key] < 1)) problems.push(`${where(['queries', key])}: must be a positive whole number`);
  }
  if (!Array.isArray(limits.timezones) || limits.timezones.length === 0) problems.push(`${where(['queries', 'timezones'])}: must be a list of IANA time zones`);
  else limits.timezones.forEach((/** @type {unknown} */ zone, /** @type {number} */ i) => {
    if (typeof zone !== 'string' || !/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(zone) || !isTimeZone(zone)) problems.push(`${where(['queries', 'timezones', i])}: "${zone}" is not an IANA time zone`);
  });
  return limits;
}

/** @param {string} zone */
function isTimeZone(zone) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** @param {string} pattern */
function patternToRegExp(pattern) {
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
