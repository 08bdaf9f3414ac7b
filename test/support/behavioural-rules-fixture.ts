/**
 * The behavioural segments and fixture calendar that the incremental-membership tests share:
 * four event-predicate rules (first-week breadth, recent use, a quick sequence, lapsing),
 * 24 users signing up on 2025-01-01 and the four features they use. Each test writes its own
 * events; this file only keeps the definitions in one place.
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
