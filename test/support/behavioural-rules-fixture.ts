/**
 * The behavioural segments and fixture calendar that the incremental-membership tests share:
 * four event-predicate rules (first-week breadth, recent use, a quick sequence, lapsing),
 * 24 users signing up on 2025-01-01 (staggered by hours), the four features they use, and
 * their first 40 days of events. Each test brings its own seeded random and event-row format,
 * and the later batches it loads.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RULES: Record<string, string> = {
  breadth: "performed('feature_used', distinct: feature) >= 3 in first 7 days after signup",
  recent: "performed('feature_used') >= 2 in last 7 days",
  quick_start: "sequence('signed_in', 'feature_used', within: 1 hour) in first 7 days after signup",
  lapsed: "stopped_performing('signed_in', 14 days)",
};
export const USERS = 24;
export const FEATURES = ['dashboards', 'reports', 'alerts', 'api'];
/** Day `d` after 2025-01-01 at hour `h`, UTC. */
export const day = (d: number, h = 0) => new Date(Date.UTC(2025, 0, 1 + d, h)).toISOString();

/** Writes RULES as segment definitions into `<dir>/segments/behavioural.yml`, with a refresh policy when given; returns that segments directory. */
export function writeBehaviouralSegments(dir: string, refresh?: 'incremental' | 'each_build'): string {
  const segments = join(dir, 'segments');
  mkdirSync(segments);
  writeFileSync(join(segments, 'behavioural.yml'), `segments:\n${Object.entries(RULES).map(([name, rule]) =>
    `  - {name: ${name}, title: ${name}, description: d, owner: o, hypothesis: h, version: 1, kind: rule${refresh ? `, refresh: ${refresh}` : ''}, rule: ${JSON.stringify(rule)}}\n`).join('')}`);
  return segments;
}

/** users.csv lines (after the header `user_id,signed_up_at,plan,updated_at`) for the USERS users. */
export const userLines = () => Array.from({ length: USERS }, (_, u) => `u${u},${day(0, u % 12)},free,${day(0)}`);

export type EventLine = (who: { user?: string; anon?: string }, name: string, at: string, feature?: string) => string;

/**
 * 40 days of sign-ins and feature use per user, drawn from `random`: every sixth user's first
 * week is under an anonymous id (linked to the user only later) and uses every feature.
 */
export function fortyDaysOfEvents(random: () => number, event: EventLine): string[] {
  const rows: string[] = [];
  for (let u = 0; u < USERS; u++) {
    const anonymousFirstWeek = u % 6 === 0;
    for (let d = 0; d < 40; d += 1 + Math.floor(random() * 4)) {
      const who = anonymousFirstWeek && d < 7 ? { anon: `a${u}` } : { user: `u${u}` };
      rows.push(event(who, 'signed_in', day(d, 13)));
      if (random() < 0.7) rows.push(event(who, 'feature_used', day(d, 13 + (random() < 0.5 ? 0 : 2)), FEATURES[Math.floor(random() * FEATURES.length)]));
      if (d < 7 && anonymousFirstWeek) for (const f of FEATURES) rows.push(event(who, 'feature_used', day(d, 14), f));
    }
  }
  return rows;
}
