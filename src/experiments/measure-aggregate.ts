/**
 * One measure (experiments/*.yml, changes/*.yml) as an aggregate over joined rows `r`
 * (outcomes or events) for the window `when`: a count, a revenue sum or distinct sessions.
 * Shared by the experiment and change statistics, so both measure the same way.
 */
import type { Measure } from './experiment-definition.ts';

export interface SqlPart {
  sql: string;
  bindings: unknown[];
}

export function aggregate(measure: Measure, when: string, whenBindings: unknown[]): SqlPart {
  if ('outcomes' in measure) {
    const filter = `r.outcome_type = any(?::text[]) and ${when}`;
    const bindings = [measure.outcomes, ...whenBindings];
    return measure.value === 'count'
      ? { sql: `count(*) filter (where ${filter})`, bindings }
      : { sql: `coalesce(sum(r.revenue_usd) filter (where ${filter}), 0)`, bindings };
  }
  const filter = `r.event = any(?::text[]) and ${when}`;
  const bindings = [measure.events, ...whenBindings];
  return measure.value === 'count' ? { sql: `count(*) filter (where ${filter})`, bindings } : { sql: `count(distinct r.session_id) filter (where ${filter})`, bindings };
}
