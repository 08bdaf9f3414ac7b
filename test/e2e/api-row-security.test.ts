/**
 * Row-level security holds for every query shape: a token whose `region` claim is A never
 * sees a row of another region, over REST (@cubejs-client/core) and GraphQL (graphql-request).
 *
 * Seeded random queries (mulberry32) over the four views' measures, dimensions, time
 * dimensions, filters, `or` groups and segments, asked by region-scoped tokens (one region,
 * a list of regions, a non-ASCII region; analyst and viewer roles), are checked against:
 *   - the admin's answer to the same query plus `region equals <claim>` (same rows, same numbers);
 *   - rows that carry a region carry only the claim's regions;
 *   - a filter on another region (or "not my region") returns nothing;
 *   - totals and breakdowns equal hand-written SQL on core.* restricted to the claim.
 * This runs (a) before any pre-aggregation exists (and the plan of each query uses none),
 * (b) after the rollups are built in cube_rollups and used (the plan names them), and
 * (c) with Cube's result cache warmed by an admin's identical query (no cross-token leak).
 * Queries naming two views, blended queries and compareDateRange are restricted too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql } from 'graphql-request';
import { startApiFixture, type ApiFixture } from '../support/api-fixture.ts';

// ---------------------------------------------------------------- the fixture and its callers

let api: ApiFixture;
let admin: string;

interface Caller {
  name: string;
  claims: Record<string, unknown>;
  /** The regions the claim allows. */
  regions: string[];
  /** Viewers may not use cost members or service_costs. */
  viewer: boolean;
  token: string;
}
const CALLERS: Caller[] = [
  { name: 'analyst CA', claims: { role: 'analyst', region: 'CA' }, regions: ['CA'], viewer: false, token: '' },
  { name: 'viewer NY', claims: { role: 'viewer', region: 'NY' }, regions: ['NY'], viewer: true, token: '' },
  { name: 'analyst [CA, NY]', claims: { role: 'analyst', region: ['CA', 'NY'] }, regions: ['CA', 'NY'], viewer: false, token: '' },
  { name: 'analyst São Paulo', claims: { role: 'analyst', region: 'São Paulo' }, regions: ['São Paulo'], viewer: false, token: '' },
  { name: 'viewer [Berlin]', claims: { role: 'viewer', region: ['Berlin'] }, regions: ['Berlin'], viewer: true, token: '' },
];
const callerNamed = (name: string) => CALLERS.find((c) => c.name === name)!;

/** Every region in the data, and the values each filterable dimension takes. */
let allRegions: string[] = [];
const pools: Record<string, string[]> = {};
const POOL_SQL: Record<string, string> = {
  plan: 'select distinct plan as v from core.dim_users',
  country: 'select distinct country as v from core.dim_users',
  acquisition_channel: 'select distinct acquisition_channel as v from core.dim_users',
  first_device_type: 'select distinct first_device_type as v from core.dim_users',
  gender: 'select distinct gender as v from core.dim_users',
  city: 'select distinct city as v from core.dim_users',
  locale: 'select distinct locale as v from core.dim_users',
  first_os: 'select distinct first_os as v from core.dim_users',
  first_browser: 'select distinct first_browser as v from core.dim_users',
  event: 'select distinct event as v from core.fct_events',
  device_type: 'select distinct device_type as v from core.fct_events',
  os: 'select distinct os as v from core.fct_events',
  browser: 'select distinct browser as v from core.fct_events',
  outcome_type: 'select distinct outcome_type as v from core.fct_outcomes',
  plan_involved: 'select distinct plan as v from core.fct_outcomes',
  product_id: 'select distinct product_id as v from core.fct_outcomes',
  currency: 'select distinct currency as v from core.fct_outcomes',
  cost_type: 'select distinct cost_type as v from core.fct_costs',
};

beforeAll(async () => {
  api = await startApiFixture({ users: 400 });
  admin = await api.token({ role: 'admin' });
  for (const caller of CALLERS) caller.token = await api.token(caller.claims);
  allRegions = (await api.sql<{ v: string }>('select distinct region as v from core.dim_users where region is not null order by 1')).map((r) => r.v);
  for (const [dimension, text] of Object.entries(POOL_SQL)) {
    pools[dimension] = (await api.sql<{ v: string }>(`select v from (${text}) p where v is not null order by 1`)).map((r) => r.v);
  }
  // The callers' regions must exist, or "restricted" would be trivially empty.
  for (const caller of CALLERS) for (const region of caller.regions) expect(allRegions).toContain(region);
});
afterAll(() => api?.close());

// ---------------------------------------------------------------- the views and random queries

type ViewName = 'user_value' | 'user_activity' | 'revenue' | 'service_costs';
type Granularity = 'day' | 'week' | 'month' | 'quarter' | 'year';

interface ViewCatalog {
  measures: string[];
  dimensions: string[];
  numberDimensions: string[];
  times: string[];
  segments: string[];
  /** Members a rollup holds (measures, dimensions, its time dimension and granularities). */
  rollup?: { measures: string[]; dimensions: string[]; time: string; granularities: Granularity[] };
  /** Members no rollup holds: one of them in a query keeps it on the core tables. */
  rawOnly: string[];
}
const VIEWS: Record<ViewName, ViewCatalog> = {
  user_value: {
    measures: ['count', 'identified_users', 'paying_users', 'conversion_rate', 'total_revenue', 'arpu', 'total_cost_to_serve', 'cost_per_user', 'gross_margin'],
    dimensions: ['plan', 'country', 'region', 'acquisition_channel', 'first_device_type', 'gender', 'city', 'locale', 'first_os', 'first_browser'],
    numberDimensions: ['birth_year'],
    times: ['signed_up_at', 'cohort_month'],
    segments: ['identified', 'paying'],
    rollup: { measures: ['count', 'identified_users', 'paying_users', 'total_revenue', 'total_cost_to_serve'], dimensions: ['region', 'country', 'plan', 'acquisition_channel', 'first_device_type', 'gender'], time: 'cohort_month', granularities: ['month', 'quarter', 'year'] },
    rawOnly: ['city', 'locale', 'first_os', 'first_browser'],
  },
  user_activity: {
    measures: ['count', 'active_users', 'sessions', 'events_per_user', 'users'],
    dimensions: ['event', 'device_type', 'os', 'browser', 'region', 'country', 'plan', 'acquisition_channel', 'first_device_type'],
    numberDimensions: [],
    times: ['occurred_at', 'cohort_month'],
    segments: [],
    rollup: { measures: ['count'], dimensions: ['region', 'event', 'device_type'], time: 'occurred_at', granularities: ['day', 'week', 'month', 'quarter', 'year'] },
    rawOnly: ['active_users', 'sessions', 'os', 'browser', 'country'],
  },
  revenue: {
    measures: ['count', 'net_revenue', 'refunds', 'orders', 'paying_users', 'churned_users'],
    dimensions: ['outcome_type', 'product_id', 'currency', 'plan_involved', 'region', 'country', 'plan', 'acquisition_channel', 'first_device_type'],
    numberDimensions: [],
    times: ['occurred_at', 'cohort_month'],
    segments: [],
    rollup: { measures: ['count', 'net_revenue', 'refunds'], dimensions: ['region', 'outcome_type', 'plan_involved'], time: 'occurred_at', granularities: ['day', 'week', 'month', 'quarter', 'year'] },
    rawOnly: ['orders', 'paying_users', 'churned_users', 'product_id', 'currency', 'country'],
  },
  service_costs: {
    measures: ['cost_to_serve', 'served_users', 'cost_per_served_user'],
    dimensions: ['cost_type', 'region', 'country', 'plan', 'acquisition_channel'],
    numberDimensions: [],
    times: ['period_start'],
    segments: [],
    rawOnly: ['cost_to_serve', 'served_users', 'cost_per_served_user', 'cost_type', 'country', 'plan', 'acquisition_channel'],
  },
};
/** What governance.yml hides from viewers (besides PII, which no query here names). */
const VIEWER_HIDDEN = new Set(['total_cost_to_serve', 'cost_per_user', 'gross_margin']);
const DATE_RANGES: [string, string][] = [['2025-01-01', '2025-06-30'], ['2025-03-01', '2025-04-30'], ['2025-07-01', '2026-03-31'], ['2024-01-01', '2026-12-31']];
const SHORT_RANGES: [string, string][] = [['2025-03-01', '2025-04-30'], ['2025-11-01', '2025-12-31']];

/** One condition; `values` are strings (REST) and become numbers for number members (GraphQL). */
interface Cond { member: string; operator: 'equals' | 'notEquals' | 'contains' | 'set' | 'notSet' | 'gte' | 'lt'; values?: string[] }
type RegionProbe = 'none' | 'other region' | 'mine and another' | 'or another region' | 'not mine';
interface Spec {
  view: ViewName;
  caller: Caller;
  mode: 'raw' | 'rollup';
  measures: string[];
  dimensions: string[];
  time?: { dimension: string; granularity: Granularity; dateRange?: [string, string] };
  segments: string[];
  /** ANDed conditions, then at most one `or` group. */
  conds: Cond[];
  or?: Cond[];
  probe: RegionProbe;
  /** A probe whose answer must be empty whatever the data. */
  mustBeEmpty: boolean;
}

/** mulberry32: a tiny seeded PRNG, so a failing query can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(seed: number, options: { mode: 'raw' | 'rollup'; graphql: boolean }): Spec {
  const rand = mulberry32(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const sample = <T>(list: readonly T[], n: number): T[] => [...list].sort(() => rand() - 0.5).slice(0, Math.min(n, list.length));
  const caller = pick(CALLERS);
  const viewNames = (Object.keys(VIEWS) as ViewName[]).filter((v) => (options.mode === 'rollup' ? VIEWS[v].rollup : true) && !(caller.viewer && v === 'service_costs'));
  const view = pick(viewNames);
  const catalog = VIEWS[view];
  const rollup = options.mode === 'rollup' ? catalog.rollup! : undefined;
  const allowed = (member: string) => !(caller.viewer && VIEWER_HIDDEN.has(member));

  const measures = sample((rollup?.measures ?? catalog.measures).filter(allowed), 1 + Math.floor(rand() * 3));
  const dimensionPool = (rollup?.dimensions ?? catalog.dimensions).filter((d) => d !== 'region');
  const dimensions = sample(dimensionPool, pick([0, 1, 1, 2]));
  if (rand() < 0.4) dimensions.push('region');

  let time: Spec['time'];
  if (rand() < 0.5) {
    const granularity = pick(rollup?.granularities ?? (['day', 'week', 'month', 'quarter', 'year'] as Granularity[]));
    const short = granularity === 'day' || granularity === 'week';
    time = { dimension: rollup?.time ?? pick(catalog.times), granularity, dateRange: short ? pick(SHORT_RANGES) : rand() < 0.5 ? pick(DATE_RANGES) : undefined };
  }
  // Results stay far below Cube's 10 000-row default limit, so no answer is cut.
  if (time && (time.granularity === 'day' || time.granularity === 'week')) dimensions.splice(1);

  const filterable = [...dimensionPool, ...(rollup ? [] : catalog.numberDimensions)];
  const cond = (dimension: string): Cond => {
    const member = `${view}.${dimension}`;
    if (catalog.numberDimensions.includes(dimension)) return { member, operator: pick(['gte', 'lt'] as const), values: [String(pick([1970, 1980, 1990, 2000]))] };
    const values = pools[dimension]!;
    const operator = pick(rollup ? (['equals', 'equals', 'notEquals', 'set'] as const) : (['equals', 'equals', 'notEquals', 'contains', 'set', 'notSet'] as const));
    if (operator === 'set' || operator === 'notSet') return { member, operator };
    if (operator === 'contains') return { member, operator, values: [pick(values).slice(0, 3)] };
    if (operator === 'notEquals') return { member, operator, values: [pick(values)] };
    const chosen = sample(values, 1 + Math.floor(rand() * 2));
    if (rand() < 0.2) chosen.push('no-such-value');
    return { member, operator, values: chosen };
  };
  const conds = sample(filterable, pick([0, 0, 1, 1, 2])).map(cond);

  // Probes aimed at other regions' rows.
  const others = allRegions.filter((r) => !caller.regions.includes(r));
  const other = pick(others);
  const region = `${view}.region`;
  let or: Cond[] | undefined;
  const roll = rand();
  const probe: RegionProbe = roll < 0.2 ? 'other region' : roll < 0.3 ? 'mine and another' : roll < 0.4 ? 'or another region' : roll < 0.47 ? 'not mine' : 'none';
  if (probe === 'other region') conds.push({ member: region, operator: 'equals', values: [other] });
  if (probe === 'mine and another') conds.push({ member: region, operator: 'equals', values: [caller.regions[0]!, other] });
  if (probe === 'not mine') conds.push({ member: region, operator: 'notEquals', values: caller.regions });
  if (probe === 'or another region') or = [{ member: region, operator: 'equals', values: [other] }, cond(pick(filterable))];

  const segments = !options.graphql && !rollup && catalog.segments.length > 0 && rand() < 0.25 ? [pick(catalog.segments)] : [];
  const spec: Spec = { view, caller, mode: options.mode, measures, dimensions, time, segments, conds, or, probe, mustBeEmpty: probe === 'other region' || probe === 'not mine' };
  // A raw query names a member no rollup holds, so it can only run on the core tables.
  if (options.mode === 'raw' && catalog.rollup && ![...measures, ...dimensions].some((m) => catalog.rawOnly.includes(m))) {
    const extra = pick(catalog.rawOnly.filter(allowed));
    if (catalog.measures.includes(extra)) measures.push(extra);
    else dimensions.push(extra);
  }
  return spec;
}

// ---------------------------------------------------------------- the same spec as REST and GraphQL

const full = (spec: Spec, member: string) => `${spec.view}.${member}`;
const restFilter = (cond: Cond) => ({ member: cond.member, operator: cond.operator, ...(cond.values ? { values: cond.values } : {}) });

function toRest(spec: Spec, extraFilters: Cond[] = []): Record<string, unknown> {
  return {
    measures: spec.measures.map((m) => full(spec, m)),
    ...(spec.dimensions.length > 0 ? { dimensions: spec.dimensions.map((d) => full(spec, d)) } : {}),
    ...(spec.time ? { timeDimensions: [{ dimension: full(spec, spec.time.dimension), granularity: spec.time.granularity, ...(spec.time.dateRange ? { dateRange: spec.time.dateRange } : {}) }] } : {}),
    ...(spec.segments.length > 0 ? { segments: spec.segments.map((s) => full(spec, s)) } : {}),
    filters: [...spec.conds.map(restFilter), ...(spec.or ? [{ or: spec.or.map(restFilter) }] : []), ...extraFilters.map(restFilter)],
  };
}

/** GraphQL `where` input for one condition: `{ view: { member: { op: value } } }`. */
function gqlCond(spec: Spec, cond: Cond): Record<string, unknown> {
  const member = cond.member.split('.')[1]!;
  const numeric = VIEWS[spec.view].numberDimensions.includes(member);
  const value = (v: string) => (numeric ? Number(v) : v);
  const filter =
    cond.operator === 'equals' ? { in: cond.values!.map(value) }
    : cond.operator === 'notEquals' ? { notIn: cond.values!.map(value) }
    : cond.operator === 'set' ? { set: true }
    : cond.operator === 'notSet' ? { set: false }
    : cond.operator === 'contains' ? { contains: cond.values }
    : { [cond.operator]: value(cond.values![0]!) };
  return { [spec.view]: { [member]: filter } };
}

function toGraphql(spec: Spec): { query: string; variables: Record<string, unknown> } {
  const where: Record<string, unknown> = {};
  const and = [...spec.conds.map((c) => gqlCond(spec, c)), ...(spec.or ? [{ OR: spec.or.map((c) => gqlCond(spec, c)) }] : [])];
  if (and.length > 0) where.AND = and;
  if (spec.time?.dateRange) where[spec.view] = { [spec.time.dimension]: { inDateRange: spec.time.dateRange } };
  const fields = [...spec.measures, ...spec.dimensions, ...(spec.time ? [`${spec.time.dimension} { ${spec.time.granularity} }`] : [])];
  return {
    query: `query Q($where: RootWhereInput) { cube(where: $where) { ${spec.view} { ${fields.join(' ')} } } }`,
    variables: { where },
  };
}

// ---------------------------------------------------------------- answers, normalized

interface Row { dims: (string | null)[]; measures: number[] }
/** Keys of an answer's row, dimensions first: the measures follow. */
function keysOf(spec: Spec): { dims: string[]; measures: string[] } {
  return {
    dims: [...spec.dimensions.map((d) => full(spec, d)), ...(spec.time ? [`${full(spec, spec.time.dimension)}.${spec.time.granularity}`] : [])],
    measures: spec.measures.map((m) => full(spec, m)),
  };
}
/** Rows as comparable values: dimensions as strings (time without `Z`), measures as numbers (a sum over nothing is 0). */
function canon(spec: Spec, rows: Record<string, unknown>[]): Row[] {
  const keys = keysOf(spec);
  const dim = (v: unknown) => (v === null || v === undefined ? null : String(v).replace(/Z$/, ''));
  return rows
    .map((row) => ({ dims: keys.dims.map((k) => dim(row[k])), measures: keys.measures.map((k) => (row[k] === null || row[k] === undefined ? 0 : Number(row[k]))) }))
    .sort((a, b) => JSON.stringify(a.dims).localeCompare(JSON.stringify(b.dims)));
}
async function restRows(token: string, spec: Spec, extra: Cond[] = []): Promise<Row[]> {
  const result = await api.rest(token).load(toRest(spec, extra) as never);
  return canon(spec, result.rawData() as Record<string, unknown>[]);
}
async function graphqlRows(token: string, spec: Spec): Promise<Row[]> {
  const { query, variables } = toGraphql(spec);
  const answer = await api.graphql(token).request<{ cube: Record<string, Record<string, any>>[] }>(query, variables);
  return canon(spec, answer.cube.map((entry) => {
    const r = entry[spec.view]!;
    const row: Record<string, unknown> = {};
    for (const m of [...spec.measures, ...spec.dimensions]) row[full(spec, m)] = r[m];
    if (spec.time) row[`${full(spec, spec.time.dimension)}.${spec.time.granularity}`] = r[spec.time.dimension]?.[spec.time.granularity];
    return row;
  }));
}

function expectSameRows(actual: Row[], expected: Row[], label: string): void {
  expect(actual.map((r) => r.dims), `${label}: dimension values`).toEqual(expected.map((r) => r.dims));
  actual.forEach((row, i) => row.measures.forEach((value, j) => {
    const want = expected[i]!.measures[j]!;
    expect(Math.abs(value - want), `${label}: measure ${j} of row ${i} (${value} vs ${want})`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(want)));
  }));
}
const isEmpty = (rows: Row[]) => rows.every((r) => r.measures.every((m) => m === 0));
const describeSpec = (spec: Spec, extra = '') => `${spec.caller.name} ${spec.probe !== 'none' ? `[${spec.probe}] ` : ''}${JSON.stringify(toRest(spec))}${extra}`;

/** What one random query proved, for the counts checked at the end of each phase. */
const tally = { queries: 0, nonEmpty: 0, withRegionRows: 0, probes: 0, usedRollup: 0 };

/**
 * The plan of a query asked with this caller's claims: which pre-aggregations it reads and
 * which parameters it binds. Asked of Cube directly, since /v1/sql is for operators only.
 */
function planOf(caller: Caller, query: Record<string, unknown>): Promise<{ sql: string; params: unknown[]; preAggregations: { tableName: string }[] }> {
  return api.server.cube.planOf(query, caller.claims);
}

/** Asks a random query as its caller and checks it against the admin's answer restricted by hand. */
async function checkRandomQuery(seed: number, channel: 'rest' | 'graphql', mode: 'raw' | 'rollup'): Promise<void> {
  const spec = generate(seed, { mode, graphql: channel === 'graphql' });
  const label = `seed ${seed} ${channel} ${describeSpec(spec)}`;
  const plan = await planOf(spec.caller, toRest(spec));
  // The rewrite's row filter is in the SQL Cube runs, bound as parameters.
  for (const region of spec.caller.regions) expect(plan.params, `${label}: parameters of the plan`).toContain(region);
  if (mode === 'raw') expect(plan.preAggregations, `${label}: a raw query must not read a rollup`).toEqual([]);
  else {
    // Before the refresh, a rollup-shaped query would have Cube build its rollup on demand.
    expect(plan.preAggregations.length, `${label}: a rollup-shaped query reads a rollup`).toBeGreaterThan(0);
    expect(plan.sql, `${label}: and its SQL reads cube_rollups`).toContain('cube_rollups.');
    tally.usedRollup++;
  }

  const [restricted, oracle] = await Promise.all([
    channel === 'rest' ? restRows(spec.caller.token, spec) : graphqlRows(spec.caller.token, spec),
    restRows(admin, spec, [{ member: `${spec.view}.region`, operator: 'equals', values: spec.caller.regions }]),
  ]);
  const regionAt = keysOf(spec).dims.indexOf(`${spec.view}.region`);
  if (regionAt >= 0) {
    for (const row of restricted) expect(spec.caller.regions, `${label}: a row of region ${row.dims[regionAt]}`).toContain(row.dims[regionAt]);
    if (restricted.length > 0) tally.withRegionRows++;
  }
  expectSameRows(restricted, oracle, label);
  if (spec.mustBeEmpty) {
    expect(isEmpty(restricted), `${label}: must return nothing`).toBe(true);
    tally.probes++;
  }
  tally.queries++;
  if (!isEmpty(restricted)) tally.nonEmpty++;
}

const seeds = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const rollupTables = async () =>
  (await api.sql<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'cube_rollups' order by 1`)).map((r) => r.table_name);

// ---------------------------------------------------------------- hand-written SQL

const USER_REVENUE = '(select user_key, sum(revenue_usd) filter (where is_revenue) as revenue from core.fct_outcomes group by 1)';
/**
 * Totals without a region dimension, and breakdowns, as SQL on core.* restricted to
 * `u.region in (:regions)`; `rollup` says whether the query's plan reads a rollup once built.
 */
const SQL_CASES: { name: string; query: Record<string, unknown>; gql?: string; costs?: boolean; rollup: boolean; sql: string }[] = [
  { name: 'users', rollup: true, query: { measures: ['user_value.count'] }, gql: '{ cube { user_value { count } } }', sql: 'select count(*) as m from core.dim_users u where u.region in (:regions)' },
  { name: 'revenue per user', rollup: true, query: { measures: ['user_value.total_revenue'] }, gql: '{ cube { user_value { total_revenue } } }', sql: `select sum(r.revenue) as m from core.dim_users u left join ${USER_REVENUE} r using (user_key) where u.region in (:regions)` },
  { name: 'users by country and acquisition channel', rollup: true, query: { measures: ['user_value.count'], dimensions: ['user_value.country', 'user_value.acquisition_channel'] }, sql: 'select u.country as d, u.acquisition_channel as d2, count(*) as m from core.dim_users u where u.region in (:regions) group by 1, 2' },
  { name: 'users by city', rollup: false, query: { measures: ['user_value.count'], dimensions: ['user_value.city'] }, gql: '{ cube { user_value { count city } } }', sql: 'select u.city as d, count(*) as m from core.dim_users u where u.region in (:regions) group by 1' },
  { name: 'events by event name', rollup: true, query: { measures: ['user_activity.count'], dimensions: ['user_activity.event'] }, sql: 'select e.event as d, count(*) as m from core.fct_events e join core.dim_users u using (user_key) where u.region in (:regions) group by 1' },
  { name: 'events and active users', rollup: false, query: { measures: ['user_activity.count', 'user_activity.active_users'] }, gql: '{ cube { user_activity { count active_users } } }', sql: 'select count(*) as m, count(distinct e.user_key) as m2 from core.fct_events e join core.dim_users u using (user_key) where u.region in (:regions)' },
  { name: 'net revenue and refunds', rollup: true, query: { measures: ['revenue.net_revenue', 'revenue.refunds'] }, gql: '{ cube { revenue { net_revenue refunds } } }', sql: "select sum(o.revenue_usd) filter (where o.is_revenue) as m, sum(-o.revenue_usd) filter (where o.outcome_type = 'refund') as m2 from core.fct_outcomes o join core.dim_users u using (user_key) where u.region in (:regions)" },
  { name: 'orders and paying users', rollup: false, query: { measures: ['revenue.orders', 'revenue.paying_users'] }, gql: '{ cube { revenue { orders paying_users } } }', sql: "select count(distinct o.order_id) filter (where o.outcome_type in ('purchase', 'upgrade')) as m, count(distinct o.user_key) filter (where o.outcome_type in ('purchase', 'upgrade') and o.revenue_usd > 0) as m2 from core.fct_outcomes o join core.dim_users u using (user_key) where u.region in (:regions)" },
  { name: 'cost to serve', rollup: false, costs: true, query: { measures: ['service_costs.cost_to_serve', 'service_costs.served_users'] }, gql: '{ cube { service_costs { cost_to_serve served_users } } }', sql: 'select sum(c.cost_usd) as m, count(distinct c.user_key) as m2 from core.fct_costs c join core.dim_users u using (user_key) where u.region in (:regions)' },
];
/** Hand-written SQL with `:regions` bound as a list of parameters. */
function regionSql(text: string, regions: string[]): Promise<Record<string, unknown>[]> {
  return api.sql(text.replace(':regions', regions.map(() => '?').join(', ')), regions);
}

/** SQL rows `{ d, d2, m, m2 }` and an answer's rows, as comparable Rows. */
function sqlRows(rows: Record<string, unknown>[]): Row[] {
  return rows
    .map((r) => ({ dims: ['d', 'd2'].filter((k) => k in r).map((k) => (r[k] === null ? null : String(r[k]))), measures: ['m', 'm2'].filter((k) => k in r).map((k) => Number(r[k] ?? 0)) }))
    .sort((a, b) => JSON.stringify(a.dims).localeCompare(JSON.stringify(b.dims)));
}
function answerRows(query: Record<string, unknown>, rows: Record<string, unknown>[]): Row[] {
  const dims = (query.dimensions as string[] | undefined) ?? [];
  const measures = query.measures as string[];
  return rows
    .map((r) => ({ dims: dims.map((k) => (r[k] === null ? null : String(r[k]))), measures: measures.map((k) => Number(r[k] ?? 0)) }))
    .sort((a, b) => JSON.stringify(a.dims).localeCompare(JSON.stringify(b.dims)));
}
async function expectSqlCases(caller: Caller, phase: 'before rollups' | 'after rollups'): Promise<void> {
  let checked = 0;
  for (const testCase of SQL_CASES) {
    if (testCase.costs && caller.viewer) continue;
    // Before rollups exist, only queries no rollup could serve (asking one would build it).
    if (phase === 'before rollups' && testCase.rollup) continue;
    const plan = await planOf(caller, testCase.query);
    expect(plan.preAggregations.length > 0, `${testCase.name}: reads a rollup`).toBe(phase === 'after rollups' && testCase.rollup);
    const expected = sqlRows(await regionSql(testCase.sql, caller.regions));
    expect(expected.length, `${testCase.name}: the SQL should select rows`).toBeGreaterThan(0);
    const rest = answerRows(testCase.query, (await api.rest(caller.token).load(testCase.query as never)).rawData() as never);
    expectSameRows(rest, expected, `${caller.name} REST ${testCase.name}`);
    if (testCase.gql) {
      const answer = await api.graphql(caller.token).request<{ cube: Record<string, Record<string, unknown>>[] }>(testCase.gql);
      const view = (testCase.query.measures as string[])[0]!.split('.')[0]!;
      const rows = answer.cube.map((entry) => Object.fromEntries(Object.entries(entry[view]!).map(([k, v]) => [`${view}.${k}`, v])));
      expectSameRows(answerRows(testCase.query, rows), expected, `${caller.name} GraphQL ${testCase.name}`);
    }
    checked++;
  }
  expect(checked).toBeGreaterThanOrEqual(2);
  // The restriction bites: the caller's users are a strict part of all users.
  const [all] = await api.sql<{ n: string }>('select count(*) as n from core.dim_users');
  const [mine] = await regionSql('select count(*) as n from core.dim_users u where u.region in (:regions)', caller.regions);
  expect(Number(mine!.n)).toBeGreaterThan(0);
  expect(Number(mine!.n)).toBeLessThan(Number(all!.n));
}

// ---------------------------------------------------------------- (a) no pre-aggregation yet

describe('(a) before any pre-aggregation exists', () => {
  beforeAll(async () => {
    expect(await rollupTables(), 'a fresh server has built no rollup').toEqual([]);
  });

  it.for(seeds(1000, 30))('random REST query, seed %i', (seed) => checkRandomQuery(seed, 'rest', 'raw'));
  it.for(seeds(2000, 15))('random GraphQL query, seed %i', (seed) => checkRandomQuery(seed, 'graphql', 'raw'));

  it.for(CALLERS.map((c) => c.name))('totals and breakdowns for %s equal SQL restricted to the claim', (name) => expectSqlCases(callerNamed(name), 'before rollups'));

  it('still no rollup was built, and the random queries were not vacuous', async () => {
    expect(await rollupTables()).toEqual([]);
    expect(tally.usedRollup).toBe(0);
    expect(tally.queries).toBe(45);
    expect(tally.nonEmpty, 'most random queries return data').toBeGreaterThanOrEqual(tally.queries / 2);
    expect(tally.withRegionRows, 'some answers carry a region per row').toBeGreaterThanOrEqual(5);
    expect(tally.probes, 'some queries aimed at another region').toBeGreaterThanOrEqual(5);
  });
});

// ---------------------------------------------------------------- (b) rollups built and used

describe('(b) after the pre-aggregations are built and used', () => {
  const caCount = { measures: ['user_value.count'], dimensions: ['user_value.plan'] };

  beforeAll(async () => {
    Object.assign(tally, { queries: 0, nonEmpty: 0, withRegionRows: 0, probes: 0, usedRollup: 0 });
    await api.server.cube.refreshPreAggregations();
  });

  it('the rollups exist in cube_rollups and hold every region', async () => {
    const tables = await rollupTables();
    for (const prefix of ['users_value_by_segment', 'events_activity_by_day', 'outcomes_revenue_by_day']) {
      expect(tables.some((t) => t.startsWith(prefix)), `a ${prefix} table in ${tables.join(', ')}`).toBe(true);
    }
    const users = tables.find((t) => t.startsWith('users_value_by_segment'))!;
    const regions = await api.sql<{ n: string }>(`select count(distinct users__region) as n from cube_rollups.${users}`);
    expect(Number(regions[0]!.n), 'one rollup serves all regions, so the filter must be applied when reading it').toBe(allRegions.length);
  });

  it('user_value count by plan reads the rollup, filtered by the claim, and equals SQL', async () => {
    const caller = callerNamed('analyst CA');
    const plan = await planOf(caller, caCount);
    expect(plan.preAggregations.length).toBeGreaterThan(0);
    expect(plan.preAggregations[0]!.tableName).toMatch(/^cube_rollups\.users_value_by_segment/);
    expect(plan.sql).toContain('cube_rollups.');
    expect(plan.params).toEqual(['CA']);
    const result = await api.rest(caller.token).load(caCount as never);
    const expected = sqlRows(await regionSql('select u.plan as d, count(*) as m from core.dim_users u where u.region in (:regions) group by 1', ['CA']));
    expectSameRows(answerRows(caCount, result.rawData() as never), expected, 'CA count by plan');
  });

  it.for(seeds(3000, 30))('random REST query, seed %i', (seed) => checkRandomQuery(seed, 'rest', seed % 3 === 0 ? 'raw' : 'rollup'));
  it.for(seeds(4000, 15))('random GraphQL query, seed %i', (seed) => checkRandomQuery(seed, 'graphql', seed % 3 === 0 ? 'raw' : 'rollup'));

  it.for(CALLERS.map((c) => c.name))('totals and breakdowns for %s equal SQL restricted to the claim', (name) => expectSqlCases(callerNamed(name), 'after rollups'));

  it('most random queries were rollup-shaped and read a rollup, and they were not vacuous', () => {
    expect(tally.queries).toBe(45);
    expect(tally.usedRollup).toBe(30); // seeds not divisible by 3
    expect(tally.nonEmpty, 'most random queries return data').toBeGreaterThanOrEqual(tally.queries / 2);
    expect(tally.withRegionRows, 'some answers carry a region per row').toBeGreaterThanOrEqual(5);
    expect(tally.probes, 'some queries aimed at another region').toBeGreaterThanOrEqual(5);
  });
});

// ---------------------------------------------------------------- (c) warm cache

describe('(c) with a warm cache: an admin asks first, then region-scoped tokens', () => {
  const WARM: { name: string; query: Record<string, unknown>; sql: (where: string) => string }[] = [
    {
      name: 'users by plan and country (rollup)',
      query: { measures: ['user_value.count', 'user_value.total_revenue'], dimensions: ['user_value.plan', 'user_value.country'] },
      sql: (where) => `select u.plan as d, u.country as d2, count(*) as m, sum(r.revenue) as m2 from core.dim_users u left join ${USER_REVENUE} r using (user_key) where ${where} group by 1, 2`,
    },
    {
      name: 'active users by event (core tables)',
      query: { measures: ['user_activity.active_users', 'user_activity.count'], dimensions: ['user_activity.event'] },
      sql: (where) => `select e.event as d, count(distinct e.user_key) as m, count(*) as m2 from core.fct_events e left join core.dim_users u using (user_key) where ${where} group by 1`,
    },
    {
      name: 'net revenue by outcome type (rollup)',
      query: { measures: ['revenue.net_revenue', 'revenue.count'], dimensions: ['revenue.outcome_type'] },
      sql: (where) => `select o.outcome_type as d, sum(o.revenue_usd) filter (where o.is_revenue) as m, count(*) as m2 from core.fct_outcomes o left join core.dim_users u using (user_key) where ${where} group by 1`,
    },
    {
      name: 'cost to serve by cost type (core tables)',
      query: { measures: ['service_costs.cost_to_serve'], dimensions: ['service_costs.cost_type'] },
      sql: (where) => `select c.cost_type as d, sum(c.cost_usd) as m from core.fct_costs c left join core.dim_users u using (user_key) where ${where} group by 1`,
    },
  ];
  const scoped = ['analyst CA', 'analyst [CA, NY]', 'analyst São Paulo'];

  it.for(WARM.map((w) => w.name))('%s: admin, then each region, then admin again', async (name) => {
    const { query, sql } = WARM.find((w) => w.name === name)!;
    const load = async (token: string) => answerRows(query, (await api.rest(token).load(query as never)).rawData() as never);
    const adminExpected = sqlRows(await api.sql(sql('true')));
    const first = await load(admin);
    await load(admin); // twice: the second answer comes from the cache
    expectSameRows(first, adminExpected, `${name} as admin`);
    for (const callerName of scoped) {
      const caller = callerNamed(callerName);
      const expected = sqlRows(await regionSql(sql('u.region in (:regions)'), caller.regions));
      const answer = await load(caller.token);
      expectSameRows(answer, expected, `${name} as ${caller.name} after the admin`);
      expect(answer, `${name}: ${caller.name} must not get the admin's cached answer`).not.toEqual(first);
    }
    expectSameRows(await load(admin), adminExpected, `${name} as admin after the scoped tokens`);
  });

  it('GraphQL: the admin warms the cache, the CA analyst still gets only CA', async () => {
    const query = gql`{ cube { user_value { count plan country } } }`;
    type Answer = { cube: { user_value: { count: number; plan: string; country: string } }[] };
    const rows = (a: Answer) => sqlRows(a.cube.map(({ user_value: r }) => ({ d: r.plan, d2: r.country, m: r.count })));
    const adminRows = rows(await api.graphql(admin).request<Answer>(query));
    const caller = callerNamed('analyst CA');
    const caRows = rows(await api.graphql(caller.token).request<Answer>(query));
    const sql = (where: string) => `select u.plan as d, u.country as d2, count(*) as m from core.dim_users u where ${where} group by 1, 2`;
    expectSameRows(adminRows, sqlRows(await api.sql(sql('true'))), 'admin over GraphQL');
    expectSameRows(caRows, sqlRows(await regionSql(sql('u.region in (:regions)'), ['CA'])), 'CA over GraphQL after the admin');
    expect(caRows).not.toEqual(adminRows);
  });

  it('a CA token asks first, then NY: neither gets the other\'s rows', async () => {
    const query = { measures: ['user_value.count'], dimensions: ['user_value.region'] };
    for (const name of ['analyst CA', 'viewer NY', 'analyst CA']) {
      const caller = callerNamed(name);
      const rows = (await api.rest(caller.token).load(query as never)).rawData() as Record<string, unknown>[];
      expect(rows.map((r) => r['user_value.region'])).toEqual(caller.regions);
      const [expected] = await api.sql<{ n: string }>('select count(*) as n from core.dim_users where region = ?', [caller.regions[0]]);
      expect(Number(rows[0]!['user_value.count'])).toBe(Number(expected!.n));
    }
  });

});

// ---------------------------------------------------------------- other query shapes

describe('other query shapes stay restricted', () => {
  it('a query naming two views is restricted on both', async () => {
    const caller = callerNamed('analyst CA');
    const query = { measures: ['user_value.count', 'user_activity.count'] };
    const rows = (await api.rest(caller.token).load(query as never)).rawData() as Record<string, unknown>[];
    const [users] = await api.sql<{ n: string }>('select count(*) as n from core.dim_users where region = ?', ['CA']);
    const [events] = await api.sql<{ n: string }>('select count(*) as n from core.fct_events e join core.dim_users u using (user_key) where u.region = ?', ['CA']);
    expect(Number(rows[0]!['user_value.count'])).toBe(Number(users!.n));
    expect(Number(rows[0]!['user_activity.count'])).toBe(Number(events!.n));
  });

  it('blended queries (a list of queries) are each restricted', async () => {
    const caller = callerNamed('analyst [CA, NY]');
    const queries = [
      { measures: ['user_value.count'], dimensions: ['user_value.region'], timeDimensions: [{ dimension: 'user_value.signed_up_at', granularity: 'year' }] },
      { measures: ['revenue.count'], dimensions: ['revenue.region'], timeDimensions: [{ dimension: 'revenue.occurred_at', granularity: 'year' }] },
    ];
    const result = await api.rest(caller.token).load(queries as never);
    const regions = new Set<unknown>();
    for (const set of result.decompose()) for (const row of set.rawData() as Record<string, unknown>[]) regions.add(row['user_value.region'] ?? row['revenue.region']);
    expect([...regions].sort()).toEqual(['CA', 'NY']);
  });

  it('compareDateRange: every range is restricted', async () => {
    const caller = callerNamed('analyst CA');
    const ranges: [string, string][] = [['2025-01-01', '2025-06-30'], ['2025-07-01', '2025-12-31']];
    const result = await api.rest(caller.token).load({ measures: ['user_activity.count'], timeDimensions: [{ dimension: 'user_activity.occurred_at', compareDateRange: ranges }] } as never);
    const sets = result.decompose();
    expect(sets).toHaveLength(2);
    for (const [i, [from, to]] of ranges.entries()) {
      const [expected] = await api.sql<{ n: string }>(
        'select count(*) as n from core.fct_events e join core.dim_users u using (user_key) where u.region = ? and e.occurred_at >= ? and e.occurred_at <= ?',
        ['CA', `${from}T00:00:00Z`, `${to}T23:59:59.999Z`],
      );
      expect(Number((sets[i]!.rawData()[0] as Record<string, unknown>)['user_activity.count']), `range ${from}..${to}`).toBe(Number(expected!.n));
    }
  });
});
