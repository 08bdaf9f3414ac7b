// @ts-check
/**
 * What a Cube query may hold before Cube turns it into SQL.
 *
 * Cube 0.33 pastes some query values into SQL text rather than binding them: the time zone
 * (`AT TIME ZONE '<tz>'`), the granularity (`date_trunc('<g>', ...)`), the limit and the
 * offset. Filter values and date ranges are bound. So every value of a query is checked here
 * against an allowlist or a strict shape, in cube.js's queryRewrite (REST, GraphQL and the SQL
 * API alike, also under the official Cube 1.x image) and again in the gateway. It accepts
 * both the shape a client sends and the shape Cube normalizes it to before queryRewrite
 * (order as `[member, dir]` pairs, date ranges as local timestamps).
 *
 * Plain JavaScript for the same reason as access-policy.js: cube.js imports it.
 */

/** A refusal of a query's shape. `type: 'UserError'` makes Cube answer 400, not 500. */
export class QueryRefused extends Error {
  /** @param {string} message */
  constructor(message) {
    super(`invalid query: ${message}`);
    this.name = 'QueryRefused';
    this.type = 'UserError';
    this.status = 400;
  }
}

/**
 * @typedef {{ timezones: string[], max_rows: number, max_offset: number, max_filter_depth: number, max_filters: number, max_graphql_queries: number }} QueryLimits
 */

/** Limits when governance.yml says nothing: UTC plus a short list (each zone builds its own rollups). */
export const DEFAULT_QUERY_LIMITS = Object.freeze({
  timezones: ['UTC', 'America/New_York', 'America/Chicago', 'America/Los_Angeles', 'Europe/London', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney'],
  max_rows: 50_000,
  max_offset: 1_000_000,
  max_filter_depth: 8,
  max_filters: 200,
  max_graphql_queries: 5,
});

export const GRANULARITIES = ['second', 'minute', 'hour', 'day', 'week', 'month', 'quarter', 'year'];
export const FILTER_OPERATORS = [
  'equals', 'notEquals', 'contains', 'notContains', 'startsWith', 'notStartsWith', 'endsWith', 'notEndsWith',
  'gt', 'gte', 'lt', 'lte', 'set', 'notSet', 'inDateRange', 'notInDateRange', 'onTheDate',
  'beforeDate', 'beforeOrOnDate', 'afterDate', 'afterOrOnDate',
];

const MEMBER = /^[A-Za-z_][A-Za-z0-9_]{0,63}\.[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const MEMBER_OR_GRANULAR = /^[A-Za-z_][A-Za-z0-9_]{0,63}\.[A-Za-z_][A-Za-z0-9_]{0,63}(\.[a-z]{1,16})?$/;
/** A date or local timestamp (Cube's normalized form), or a relative range such as `last 7 days`. */
const DATE_RANGE_TEXT = /^[A-Za-z0-9 :.\-]{1,64}$/;
/** What Cube's normalization makes of a date it could not read. */
const UNREADABLE_DATE = /invalid date/i;
const MAX_VALUES = 1000;
const MAX_VALUE_LENGTH = 1000;

/**
 * Throws QueryRefused naming the first problem (`field: what is wrong`).
 * @param {QueryLimits} limits
 * @param {{ canInspect: boolean }} access
 * @param {any} query
 */
export function checkQuery(limits, access, query) {
  if (!isPlainObject(query)) throw new QueryRefused('a query must be an object');
  for (const field of ['measures', 'dimensions', 'segments']) {
    const list = query[field];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list) || list.length > 100) throw new QueryRefused(`${field}: must be a list of at most 100 member names`);
    const pattern = field === 'dimensions' ? MEMBER_OR_GRANULAR : MEMBER;
    list.forEach((member, i) => {
      // Objects here are member expressions (ad-hoc SQL from the SQL API): never accepted.
      if (typeof member !== 'string' || !pattern.test(member)) throw new QueryRefused(`${field}.${i}: must be a member name such as user_value.count`);
      if (member.split('.').length === 3) checkGranularity(member.split('.')[2], `${field}.${i}`);
    });
  }
  checkTimeDimensions(query.timeDimensions);
  checkFilters(limits, query.filters);
  checkOrder(query.order);
  checkInteger(query.limit, 'limit', 1, limits.max_rows);
  checkInteger(query.offset, 'offset', 0, limits.max_offset);
  if (query.timezone !== undefined && query.timezone !== null) {
    if (typeof query.timezone !== 'string' || !limits.timezones.includes(query.timezone)) {
      throw new QueryRefused(`timezone: ${describe(query.timezone)} is not one of the allowed time zones (${limits.timezones.join(', ')})`);
    }
  }
  for (const flag of ['total', 'ungrouped', 'renewQuery']) {
    if (query[flag] !== undefined && query[flag] !== null && typeof query[flag] !== 'boolean') throw new QueryRefused(`${flag}: must be true or false`);
  }
  // renewQuery bypasses the cache and rebuilds rollups: an operator's tool, not a caller's.
  if (query.renewQuery === true && !access.canInspect) throw new QueryRefused('renewQuery: only roles with can_inspect may force a renewal');
}

/** @param {unknown} value @param {string} where */
function checkGranularity(value, where) {
  if (value === undefined || value === null) return;
  if (typeof value !== 'string' || !GRANULARITIES.includes(value)) throw new QueryRefused(`${where}: granularity ${describe(value)} is not one of ${GRANULARITIES.join(', ')}`);
}

/** @param {unknown} list */
function checkTimeDimensions(list) {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list) || list.length > 10) throw new QueryRefused('timeDimensions: must be a list of at most 10');
  list.forEach((td, i) => {
    const where = `timeDimensions.${i}`;
    if (!isPlainObject(td) || typeof td.dimension !== 'string' || !MEMBER.test(td.dimension)) throw new QueryRefused(`${where}.dimension: must be a member name`);
    checkGranularity(td.granularity, `${where}.granularity`);
    if (td.dateRange !== undefined && td.dateRange !== null) checkDateRange(td.dateRange, `${where}.dateRange`);
    if (td.compareDateRange !== undefined && td.compareDateRange !== null) {
      if (!Array.isArray(td.compareDateRange) || td.compareDateRange.length > 4) throw new QueryRefused(`${where}.compareDateRange: must be a list of at most 4 date ranges`);
      td.compareDateRange.forEach((range, j) => checkDateRange(range, `${where}.compareDateRange.${j}`));
    }
  });
}

/** @param {unknown} range @param {string} where */
function checkDateRange(range, where) {
  const parts = Array.isArray(range) ? range : [range];
  if (parts.length < 1 || parts.length > 2 || !parts.every((p) => typeof p === 'string' && DATE_RANGE_TEXT.test(p) && !UNREADABLE_DATE.test(p))) {
    throw new QueryRefused(`${where}: must be a date, a [from, to] pair of dates, or a relative range such as "last 7 days"`);
  }
}

/**
 * Walks and/or trees with an explicit stack, so a deep tree is refused without recursion.
 * @param {QueryLimits} limits @param {unknown} filters
 */
function checkFilters(limits, filters) {
  if (filters === undefined || filters === null) return;
  if (!Array.isArray(filters)) throw new QueryRefused('filters: must be a list');
  /** @type {{ list: unknown[], path: string, depth: number }[]} */
  const stack = [{ list: filters, path: 'filters', depth: 0 }];
  let count = 0;
  while (stack.length > 0) {
    const { list, path, depth } = /** @type {{ list: unknown[], path: string, depth: number }} */ (stack.pop());
    if (depth > limits.max_filter_depth) throw new QueryRefused(`${path}: and/or filters nest deeper than ${limits.max_filter_depth} levels`);
    if (!Array.isArray(list)) throw new QueryRefused(`${path}: must be a list of filters`);
    for (let i = 0; i < list.length; i++) {
      if (++count > limits.max_filters) throw new QueryRefused(`filters: more than ${limits.max_filters} filters`);
      const filter = /** @type {any} */ (list[i]);
      const where = `${path}.${i}`;
      if (!isPlainObject(filter)) throw new QueryRefused(`${where}: must be a filter object`);
      if (filter.and !== undefined || filter.or !== undefined) {
        const key = filter.and !== undefined ? 'and' : 'or';
        if (Object.keys(filter).length !== 1) throw new QueryRefused(`${where}: a logical filter holds only "and" or "or"`);
        stack.push({ list: filter[key], path: `${where}.${key}`, depth: depth + 1 });
        continue;
      }
      const member = filter.member ?? filter.dimension;
      if (typeof member !== 'string' || !MEMBER_OR_GRANULAR.test(member)) throw new QueryRefused(`${where}.member: must be a member name`);
      if (typeof filter.operator !== 'string' || !FILTER_OPERATORS.includes(filter.operator)) throw new QueryRefused(`${where}.operator: ${describe(filter.operator)} is not a filter operator`);
      const values = filter.values;
      if (values === undefined || values === null) continue;
      if (!Array.isArray(values) || values.length > MAX_VALUES) throw new QueryRefused(`${where}.values: must be a list of at most ${MAX_VALUES} values`);
      values.forEach((value, j) => {
        const ok = value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))
          || (typeof value === 'string' && value.length <= MAX_VALUE_LENGTH);
        if (!ok) throw new QueryRefused(`${where}.values.${j}: must be a string of at most ${MAX_VALUE_LENGTH} characters, a number or a boolean`);
      });
    }
  }
}

/** @param {unknown} order */
function checkOrder(order) {
  if (order === undefined || order === null) return;
  /** @type {[unknown, unknown][]} */
  let entries;
  if (Array.isArray(order)) {
    // [member, dir] pairs (client and normalized form) or { id, desc } (Cube's adapter form)
    entries = order.map((entry) => (Array.isArray(entry) && entry.length === 2 ? [entry[0], entry[1]]
      : isPlainObject(entry) ? [entry.id, entry.desc === true ? 'desc' : entry.desc === false || entry.desc === undefined ? 'asc' : entry.desc] : [undefined, undefined]));
  } else if (isPlainObject(order)) {
    entries = Object.entries(order);
  } else {
    throw new QueryRefused('order: must be an object or a list of [member, "asc" | "desc"]');
  }
  if (entries.length > 50) throw new QueryRefused('order: at most 50 entries');
  entries.forEach(([member, direction], i) => {
    if (typeof member !== 'string' || !MEMBER_OR_GRANULAR.test(member)) throw new QueryRefused(`order.${i}: must name a member`);
    if (direction !== 'asc' && direction !== 'desc') throw new QueryRefused(`order.${i}: direction must be "asc" or "desc"`);
  });
}

/** @param {unknown} value @param {string} field @param {number} min @param {number} max */
function checkInteger(value, field, min, max) {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new QueryRefused(`${field}: must be a whole number from ${min} to ${max}`);
  }
}

/** @param {unknown} value @returns {value is Record<string, any>} */
function isPlainObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value quoted for a message, cut short so a hostile value cannot flood a log. @param {unknown} value */
function describe(value) {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * The deepest nesting of brackets in JSON text, outside strings, found in one pass with no
 * recursion: a deeply nested body is refused before anything parses or walks it.
 * @param {string} text
 */
export function jsonNestingDepth(text) {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return deepest;
}
