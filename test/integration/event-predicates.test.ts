/**
 * Every kind of event predicate, compiled and run on PostgreSQL over hand-written
 * fixture events, against the same question answered independently in this file
 * (plain loops over the fixture arrays, in integer microseconds). The fixture puts
 * events exactly on window edges and one microsecond either side, at the reference
 * time itself, exactly N times, across a DST change (every rule also runs with the
 * session in America/New_York), and has users with no events and no signup.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureCatalog } from '../../src/segments/rule-compiler.ts';
import { ruleMembers } from '../../src/segments/segment-sql.ts';
import type { RuleSegment } from '../../src/segments/segment-definition.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-database.ts';

const US = 1;
const HOUR = 3_600_000_000 * US;
const DAY = 24 * HOUR;
/** The reference time: 2026-03-20T00:00Z; the 14 days before it hold the US DST change (2026-03-08). */
const AS_OF = Date.UTC(2026, 2, 20) * 1000;

type Props = Record<string, string | number | boolean | null>;
interface Ev { id: string; user: string; event: string; t: number; props: Props | null }
interface Outcome { id: string; user: string; type: string; t: number; order: string | null; plan: string | null; revenue: number; isRevenue: boolean }
interface User { key: string; signup: number | null; plan: string }

/** A small deterministic generator (LCG), so the fixture is the same on every run. */
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}

const users: User[] = [];
const events: Ev[] = [];
const outcomes: Outcome[] = [];
{
  const rnd = lcg(7);
  const pick = <T,>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  // Edges of the windows the rules use, exactly and one microsecond either side.
  const edges = [0, 7, 14, 28, 30, 60, 90, 21].flatMap((d) => [AS_OF - d * DAY, AS_OF - d * DAY - 1, AS_OF - d * DAY + 1]);
  let n = 0;
  for (let u = 0; u < 80; u++) {
    const key = `u${String(u).padStart(2, '0')}`;
    const signup = u % 9 === 0 ? null : AS_OF - Math.floor(rnd() * 120) * DAY - Math.floor(rnd() * 24) * HOUR;
    users.push({ key, signup, plan: pick(['free', 'pro']) });
    if (u % 10 === 0) continue; // no events, no outcomes
    const count = Math.floor(rnd() * 40);
    for (let i = 0; i < count; i++) {
      const r = rnd();
      const t = r < 0.25 ? pick(edges) : r < 0.35 && signup !== null ? signup + pick([0, -1, 7 * DAY - 1, 7 * DAY, Math.floor(rnd() * 7 * DAY)]) : r < 0.4 ? AS_OF + Math.floor(rnd() * 3) * HOUR : AS_OF - Math.floor(rnd() * 130 * DAY);
      const props: Props | null = rnd() < 0.1 ? null : { format: pick(['csv', 'pdf', 7, null]), size: pick([3, 12, 40, '50']), pro: pick([true, false, 'true']) };
      events.push({ id: `e${n++}`, user: key, event: pick(['export', 'export', 'login', 'login', 'login', 'share']), t, props });
    }
    // Exactly three exports in the last 14 days for some users.
    if (u % 7 === 3) for (let i = 0; i < 3; i++) events.push({ id: `e${n++}`, user: key, event: 'export', t: AS_OF - (i * 4 + 1) * DAY, props: { format: 'csv', size: 12, pro: true } });
    // A login then an export 24 hours later exactly, and one 24 hours and a microsecond later.
    if (u % 5 === 1) events.push({ id: `e${n++}`, user: key, event: 'login', t: AS_OF - 20 * DAY, props: null }, { id: `e${n++}`, user: key, event: 'export', t: AS_OF - 19 * DAY, props: null });
    if (u % 5 === 2) events.push({ id: `e${n++}`, user: key, event: 'login', t: AS_OF - 20 * DAY, props: null }, { id: `e${n++}`, user: key, event: 'export', t: AS_OF - 19 * DAY + 1, props: null });
    // A login and an export at the same instant: not "a then b".
    if (u % 5 === 3) events.push({ id: `e${n++}`, user: key, event: 'login', t: AS_OF - 2 * DAY, props: null }, { id: `e${n++}`, user: key, event: 'export', t: AS_OF - 2 * DAY, props: null });
    const orders = Math.floor(rnd() * 5);
    for (let i = 0; i < orders; i++) {
      const t = rnd() < 0.3 ? pick(edges) : AS_OF - Math.floor(rnd() * 120 * DAY);
      const type = pick(['purchase', 'purchase', 'upgrade', 'refund', 'churn']);
      const order = type === 'churn' ? null : `o${n}`;
      const lines = type === 'purchase' ? 1 + Math.floor(rnd() * 3) : 1;
      for (let l = 0; l < lines; l++) {
        const revenue = type === 'churn' ? 0 : type === 'refund' ? -20 : 30 + l * 15;
        outcomes.push({ id: `oc${n++}`, user: key, type, t, order, plan: pick(['pro', 'team', null]), revenue, isRevenue: type !== 'churn' });
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The independent answers

type Window = { last?: number; ago?: [number, number]; afterSignup?: number };
const inWindow = (t: number, w: Window, user: User) => {
  if (t >= AS_OF) return false;
  if (w.last !== undefined) return t >= AS_OF - w.last && t < AS_OF;
  if (w.ago) return t >= AS_OF - w.ago[1] && t < AS_OF - w.ago[0];
  if (w.afterSignup !== undefined) return user.signup !== null && t >= user.signup && t < user.signup + w.afterSignup;
  return true;
};
const userOf = (key: string) => users.find((u) => u.key === key)!;
const eventsOf = (user: User, name: string, where: (p: Props | null) => boolean = () => true) =>
  events.filter((e) => e.user === user.key && e.event === name && e.t < AS_OF && where(e.props));
const countIn = (user: User, name: string, from: number, to: number) => eventsOf(user, name).filter((e) => e.t >= AS_OF - from && e.t < AS_OF - to).length;
const ordersOf = (user: User, type: string, w: Window, where: (o: Outcome) => boolean = () => true) =>
  new Set(outcomes.filter((o) => o.user === user.key && o.type === type && inWindow(o.t, w, user) && where(o)).map((o) => o.order ?? o.id)).size;
/** JSON typed access: a value of another JSON type is no value. */
const typed = (p: Props | null, name: string, type: 'string' | 'number' | 'boolean') => (p && typeof p[name] === type ? p[name] : undefined);

/** A bare property is "is true", as for boolean features: `not pro` holds where pro is false, missing or not a boolean. */
const expected: Record<string, (u: User) => boolean> = {
  "performed('export') >= 3 in last 14 days": (u) => eventsOf(u, 'export').filter((e) => inWindow(e.t, { last: 14 * DAY }, u)).length >= 3,
  "performed('export') = 3 in last 14 days": (u) => eventsOf(u, 'export').filter((e) => inWindow(e.t, { last: 14 * DAY }, u)).length === 3,
  "performed('export') < 2 in last 14 days": (u) => eventsOf(u, 'export').filter((e) => inWindow(e.t, { last: 14 * DAY }, u)).length < 2,
  "not performed('export') in last 14 days": (u) => eventsOf(u, 'export').filter((e) => inWindow(e.t, { last: 14 * DAY }, u)).length === 0,
  "performed('login') in last 2 weeks": (u) => eventsOf(u, 'login').some((e) => inWindow(e.t, { last: 14 * DAY }, u)),
  "performed('login') >= 2 in last 36 hours": (u) => eventsOf(u, 'login').filter((e) => inWindow(e.t, { last: 36 * HOUR }, u)).length >= 2,
  "performed('export', where: format = 'csv') >= 1 between 30 and 90 days ago": (u) =>
    eventsOf(u, 'export', (p) => typed(p, 'format', 'string') === 'csv').some((e) => inWindow(e.t, { ago: [30 * DAY, 90 * DAY] }, u)),
  "performed('export') >= 2 in first 7 days after signup": (u) => eventsOf(u, 'export').filter((e) => inWindow(e.t, { afterSignup: 7 * DAY }, u)).length >= 2,
  'performed(\'export\', distinct: format) >= 2': (u) =>
    new Set(eventsOf(u, 'export').map((e) => (e.props && e.props.format !== null && e.props.format !== undefined ? String(e.props.format) : null)).filter((v) => v !== null)).size >= 2,
  "performed('export', where: size > 10 and pro = true) >= 1": (u) =>
    eventsOf(u, 'export', (p) => (typed(p, 'size', 'number') as number) > 10 && typed(p, 'pro', 'boolean') === true).length >= 1,
  "performed('export', where: format in ('csv', 'pdf') and not pro) >= 2 in last 60 days": (u) =>
    eventsOf(u, 'export', (p) => ['csv', 'pdf'].includes(typed(p, 'format', 'string') as string) && typed(p, 'pro', 'boolean') !== true).filter((e) => inWindow(e.t, { last: 60 * DAY }, u)).length >= 2,
  "performed('export', where: format is null) >= 1": (u) => eventsOf(u, 'export', (p) => p === null || p.format === null || p.format === undefined).length >= 1,
  "first_performed('share') in last 7 days": (u) => {
    const first = Math.min(...eventsOf(u, 'share').map((e) => e.t));
    return Number.isFinite(first) && inWindow(first, { last: 7 * DAY }, u);
  },
  "not first_performed('share') between 30 and 60 days ago": (u) => {
    const first = Math.min(...eventsOf(u, 'share').map((e) => e.t));
    return !(Number.isFinite(first) && inWindow(first, { ago: [30 * DAY, 60 * DAY] }, u));
  },
  "stopped_performing('login', 30 days)": (u) => countIn(u, 'login', 60 * DAY, 30 * DAY) > 0 && countIn(u, 'login', 30 * DAY, 0) === 0,
  "restarted_performing('login', 14 days)": (u) =>
    countIn(u, 'login', 14 * DAY, 0) > 0 && countIn(u, 'login', 28 * DAY, 14 * DAY) === 0 && eventsOf(u, 'login').some((e) => e.t < AS_OF - 28 * DAY),
  "regularly('login', 2 times per 7 days, in 3 of the last 4 periods)": (u) =>
    [0, 1, 2, 3].filter((i) => countIn(u, 'login', (i + 1) * 7 * DAY, i * 7 * DAY) >= 2).length >= 3,
  "sequence('login', 'export', within: 1 day)": (u) =>
    eventsOf(u, 'login').some((a) => eventsOf(u, 'export').some((b) => b.t > a.t && b.t - a.t <= DAY)),
  "sequence('export', 'export', within: 36 hours) in last 30 days": (u) => {
    const xs = eventsOf(u, 'export').filter((e) => inWindow(e.t, { last: 30 * DAY }, u));
    return xs.some((a) => xs.some((b) => b.t > a.t && b.t - a.t <= 36 * HOUR));
  },
  'purchased() >= 2 in last 90 days': (u) => ordersOf(u, 'purchase', { last: 90 * DAY }) >= 2,
  "purchased(where: plan = 'pro') >= 1": (u) => ordersOf(u, 'purchase', {}, (o) => o.plan === 'pro') >= 1,
  'churned() in last 30 days': (u) => ordersOf(u, 'churn', { last: 30 * DAY }) >= 1,
  'upgraded() between 14 and 60 days ago': (u) => ordersOf(u, 'upgrade', { ago: [14 * DAY, 60 * DAY] }) >= 1,
  'revenue() >= 100 in last 60 days': (u) =>
    outcomes.filter((o) => o.user === u.key && o.isRevenue && inWindow(o.t, { last: 60 * DAY }, u)).reduce((s, o) => s + o.revenue, 0) >= 100,
  "performed('login') >= 1 in last 7 days and plan = 'pro' or churned() in last 14 days": (u) =>
    (eventsOf(u, 'login').some((e) => inWindow(e.t, { last: 7 * DAY }, u)) && u.plan === 'pro') || ordersOf(u, 'churn', { last: 14 * DAY }) >= 1,
};

// ---------------------------------------------------------------------------

let db: TestDatabase;
const catalog: FeatureCatalog = new Map([['plan', 'text']]);
const SOURCES = { events: 'fx.events', outcomes: 'fx.outcomes' };
const ts = (t: number) => `timestamptz 'epoch' + ${'?'}::bigint * interval '1 microsecond'`.replace('?', String(t));

beforeAll(async () => {
  db = await createTestDatabase({ migrate: false });
  await db.knex.raw(`create schema fx;
    create table fx.features (user_key text primary key, as_of_at timestamptz not null, signed_up_at timestamptz, plan text);
    create table fx.events (message_id text primary key, user_key text not null, event text not null, occurred_at timestamptz not null, properties jsonb);
    create table fx.outcomes (outcome_id text primary key, user_key text, outcome_type text not null, occurred_at timestamptz not null, order_id text, plan text,
                              product_id text, currency text, amount numeric, quantity numeric, revenue_usd numeric, is_revenue boolean)`);
  await db.knex.raw(`insert into fx.features values ${users.map((u) => `('${u.key}', ${ts(AS_OF)}, ${u.signup === null ? 'null' : ts(u.signup)}, '${u.plan}')`).join(', ')}`);
  for (let i = 0; i < events.length; i += 500) {
    const chunk = events.slice(i, i + 500);
    await db.knex.raw(`insert into fx.events values ${chunk.map((e) => `(?, ?, ?, ${ts(e.t)}, ?::jsonb)`).join(', ')}`, chunk.flatMap((e) => [e.id, e.user, e.event, e.props === null ? null : JSON.stringify(e.props)]) as never);
  }
  await db.knex.raw(`insert into fx.outcomes (outcome_id, user_key, outcome_type, occurred_at, order_id, plan, revenue_usd, is_revenue) values ${outcomes.map((o) => `(?, ?, ?, ${ts(o.t)}, ?, ?, ?, ?)`).join(', ')}`,
    outcomes.flatMap((o) => [o.id, o.user, o.type, o.order, o.plan, o.revenue, o.isRevenue]) as never);
});
afterAll(() => db?.drop());

const members = async (rule: string, timeZone: string) => {
  const definition = { name: 'probe', version: 1, kind: 'rule', rule } as RuleSegment;
  const { sql, bindings } = ruleMembers(definition, 'fx.features', catalog, SOURCES);
  return db.knex.transaction(async (trx) => {
    await trx.raw(`set local time zone '${timeZone}'`);
    const { rows } = await trx.raw(sql, bindings as never);
    return (rows as { user_key: string }[]).map((r) => r.user_key).sort();
  });
};

describe('each event predicate equals an independent computation on the fixture', () => {
  for (const [rule, holds] of Object.entries(expected)) {
    it(rule, async () => {
      const want = users.filter(holds).map((u) => u.key).sort();
      expect(await members(rule, 'UTC')).toEqual(want);
      // Windows are hours from the reference time: the session's time zone (and its DST change) changes nothing.
      expect(await members(rule, 'America/New_York')).toEqual(want);
    });
  }

  it('the fixture exercises the cases it claims', () => {
    const holdCounts = Object.fromEntries(Object.entries(expected).map(([rule, holds]) => [rule, users.filter(holds).length]));
    // Every rule selects someone and leaves someone out: none is trivially all or nothing.
    for (const [rule, n] of Object.entries(holdCounts)) expect(n, rule).toBeGreaterThan(0);
    for (const [rule, n] of Object.entries(holdCounts)) expect(n, rule).toBeLessThan(users.length);
    // Users without events are in "not performed" and out of "performed".
    const silent = users.filter((u) => !events.some((e) => e.user === u.key));
    expect(silent.length).toBeGreaterThan(0);
    expect(silent.every((u) => expected["not performed('export') in last 14 days"]!(u))).toBe(true);
    // Someone has exactly three exports in the window, and some events lie exactly on the 14-day edge and a microsecond before it.
    expect(users.some(expected["performed('export') = 3 in last 14 days"]!)).toBe(true);
    expect(events.some((e) => e.t === AS_OF - 14 * DAY) && events.some((e) => e.t === AS_OF - 14 * DAY - 1) && events.some((e) => e.t === AS_OF)).toBe(true);
  });

  it('known answers at the edges: a login then an export exactly 24 hours later is a sequence within 1 day, a microsecond more is not', async () => {
    const within = await members("sequence('login', 'export', within: 1 day) between 18 and 21 days ago", 'UTC');
    expect(within).toContain('u01');
    expect(userOf('u01')).toBeDefined();
    const justOutside = users.filter((u) => Number(u.key.slice(1)) % 5 === 2 && Number(u.key.slice(1)) % 10 !== 0).map((u) => u.key);
    const independent = users.filter((u) => {
      const xs = eventsOf(u, 'login').filter((e) => inWindow(e.t, { ago: [18 * DAY, 21 * DAY] }, u));
      const ys = eventsOf(u, 'export').filter((e) => inWindow(e.t, { ago: [18 * DAY, 21 * DAY] }, u));
      return xs.some((a) => ys.some((b) => b.t > a.t && b.t - a.t <= DAY));
    }).map((u) => u.key).sort();
    expect(within).toEqual(independent);
    expect(justOutside.some((k) => !within.includes(k))).toBe(true);
  });
});
