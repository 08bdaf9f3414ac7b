/**
 * Part of `npm run bench -- --only segments`: one rule of 50 event predicates over the
 * built core.fct_events / core.fct_outcomes, compiled by the rule compiler (one grouped
 * scan of the events, one of the outcomes), timed beside the same question written by
 * hand the way an analyst would (one CTE per predicate, `user_key in (...)`, literal
 * values). Both must select the same users (count and a digest of the keys) before
 * either is timed; each runs twice and the faster run counts.
 */
import type { Knex } from 'knex';
import { compileRule } from '../segments/rule-compiler.ts';
import { eventJoins, WAREHOUSE_EVENT_SOURCES } from '../segments/segment-sql.ts';
import { elapsed } from './build-bench.ts';

interface Predicate {
  /** The event (or 'purchase' for purchased()). */
  event: string;
  where?: { property: string; value: string };
  atLeast: number;
  /** in last `days` days, or between `ago[0]` and `ago[1]` days ago. */
  days?: number;
  ago?: [number, number];
}

const FEATURES = ['dashboards', 'reports', 'automations', 'integrations', 'collaboration', 'api_access', 'templates', 'alerts'];
const PAGES = ['/dashboard', '/reports', '/settings', '/billing', '/integrations', '/templates', '/help', '/team'];

/** 50 predicates: features, pages, exports, invites and purchases over several windows. */
export function benchPredicates(): Predicate[] {
  const out: Predicate[] = [];
  FEATURES.forEach((feature, i) => {
    out.push({ event: 'feature_used', where: { property: 'feature', value: feature }, atLeast: 1 + (i % 3), days: 30 + 15 * (i % 4) });
    out.push({ event: 'feature_used', where: { property: 'feature', value: feature }, atLeast: 1, ago: [30, 90 + 30 * (i % 3)] });
  });
  PAGES.forEach((path, i) => {
    out.push({ event: 'page_viewed', where: { property: 'path', value: path }, atLeast: 1 + (i % 2), days: 60 + 10 * i });
    out.push({ event: 'page_viewed', where: { property: 'path', value: path }, atLeast: 2, ago: [14, 120] });
  });
  for (const format of ['pdf', 'csv', 'xlsx']) out.push({ event: 'report_exported', where: { property: 'format', value: format }, atLeast: 1, days: 180 });
  for (const role of ['editor', 'viewer']) out.push({ event: 'invite_sent', where: { property: 'role', value: role }, atLeast: 1, days: 365 });
  for (const days of [30, 90, 180, 365]) out.push({ event: 'signed_in', atLeast: 2, days });
  for (const days of [30, 90, 365]) out.push({ event: 'purchase', atLeast: 1, days });
  for (let i = 0; i < 6; i++) out.push({ event: 'page_viewed', atLeast: 5 * (i + 1), days: 30 * (i + 1) });
  return out.slice(0, 50);
}

const windowText = (p: Predicate) => (p.days ? `in last ${p.days} days` : `between ${p.ago![0]} and ${p.ago![1]} days ago`);

/** The rule: groups of five predicates and-ed, the groups or-ed. */
export function benchRule(predicates: Predicate[]): string {
  const text = (p: Predicate) =>
    p.event === 'purchase'
      ? `purchased() >= ${p.atLeast} ${windowText(p)}`
      : `performed('${p.event}'${p.where ? `, where: ${p.where.property} = '${p.where.value}'` : ''}) >= ${p.atLeast} ${windowText(p)}`;
  return groups(predicates).map((g) => `(${g.map(text).join(' and ')})`).join(' or ');
}

const groups = <T,>(xs: T[]) => Array.from({ length: Math.ceil(xs.length / 5) }, (_, i) => xs.slice(i * 5, i * 5 + 5));

/** The same question by hand: a CTE of qualifying users per predicate, the reference time read once. */
export function benchSqlByHand(predicates: Predicate[]): string {
  const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const ctes = predicates.map((p, i) => {
    const time = p.event === 'purchase' ? 'o.occurred_at' : 'e.occurred_at';
    const window = p.days
      ? `${time} >= t - interval '${p.days * 24} hours' and ${time} < t`
      : `${time} >= t - interval '${p.ago![1] * 24} hours' and ${time} < t - interval '${p.ago![0] * 24} hours'`;
    if (p.event === 'purchase') {
      return `q${i} as (select o.user_key from core.fct_outcomes o, asof where o.outcome_type = 'purchase' and ${window}
        group by o.user_key having count(distinct coalesce(o.order_id, o.outcome_id)) >= ${p.atLeast})`;
    }
    return `q${i} as (select e.user_key from core.fct_events e, asof where e.event = ${literal(p.event)}
      ${p.where ? `and e.properties ->> ${literal(p.where.property)} = ${literal(p.where.value)}` : ''} and ${window}
      group by e.user_key having count(*) >= ${p.atLeast})`;
  });
  const condition = groups(predicates.map((_, i) => i)).map((g) => `(${g.map((i) => `f.user_key in (select user_key from q${i})`).join(' and ')})`).join(' or ');
  return `with asof as (select max(as_of_at) as t from features.user_features), ${ctes.join(',\n')}
    select f.user_key from features.user_features f where ${condition}`;
}

export interface EventPredicateBench {
  predicates: number;
  events: number;
  members: number;
  compiledSeconds: number;
  byHandSeconds: number;
}

export async function runEventPredicateBench(knex: Knex): Promise<EventPredicateBench> {
  const predicates = benchPredicates();
  const rule = benchRule(predicates);
  const catalog = new Map();
  const compiled = compileRule(rule, catalog, 'f');
  const joins = eventJoins(compiled, 'features.user_features', WAREHOUSE_EVENT_SOURCES);
  const generated = { sql: `${joins.with}select f.user_key from features.user_features f ${joins.joins} where ${compiled.sql}`, bindings: [...joins.bindings, ...compiled.bindings] };
  const byHand = benchSqlByHand(predicates);
  const digest = (sql: string) => `select count(*)::int as n, md5(coalesce(string_agg(user_key, ',' order by user_key), '')) as digest from (${sql}) m`;
  const a = (await knex.raw(digest(generated.sql), generated.bindings as never)).rows[0];
  const b = (await knex.raw(digest(byHand))).rows[0];
  if (a.n !== b.n || a.digest !== b.digest) throw new Error(`the compiled rule (${a.n} users) and the SQL by hand (${b.n} users) disagree`);
  const best = async (run: () => Promise<unknown>) => Math.min(await elapsed(run), await elapsed(run));
  const compiledSeconds = await best(() => knex.raw(digest(generated.sql), generated.bindings as never));
  const byHandSeconds = await best(() => knex.raw(digest(byHand)));
  const events = Number((await knex.raw('select count(*) from core.fct_events')).rows[0].count);
  return { predicates: predicates.length, events, members: a.n, compiledSeconds, byHandSeconds };
}
