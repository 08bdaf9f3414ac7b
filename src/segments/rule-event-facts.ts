/**
 * Per-user facts of rule event predicates (segments.rule_event_facts). A rule whose event
 * columns are all counts of the user's own events with no window or a window after signup
 * (`perUser` columns: performed(...) [in first N days after signup]) reads them from that
 * table instead of grouping core.fct_events on every build. Such a count depends on the
 * user's events and signed_up_at only, so the table is rebuilt for the users new batches
 * touch (src/identity/touched-users-rows.ts, as marts.user_paths).
 *
 * The one thing a fact leaves out is the scan's bound `occurred_at < as_of_at`. It holds for
 * every event when the reference time is after the last activity (the default: midnight
 * after it); a SEGLAYER_REFERENCE_TIME before that makes the rule scan the events as before.
 * Both branches are in the SQL under one-time filters, so only one runs.
 */
import { createHash } from 'node:crypto';
import type { AggregateColumn, Binding } from './event-predicates.ts';
import { compileRule, type CompiledRule, type FeatureCatalog } from './rule-compiler.ts';
import type { RuleSegment } from './segment-definition.ts';

/** Where the rule side reads the facts: the table, and core.reference_time (to know the facts apply). */
export interface RuleEventFactsSource {
  relation: string;
  referenceTime: string;
}

export interface FactsSql {
  sql: string;
  bindings: Binding[];
}

/** The rule's event columns when there are some and every one is kept per user; else undefined (the rule scans). */
export function perUserColumns(compiled: CompiledRule): AggregateColumn[] | undefined {
  const { events } = compiled.eventParts;
  return events.length > 0 && events.every((c) => c.perUser && c.rows) ? events : undefined;
}

/** True when no event is at or after the reference time, so the facts equal the bounded scan. */
export const factsApply = (referenceTime: string) =>
  `(select t.as_of_at > coalesce(t.last_activity_at, '-infinity'::timestamptz) from ${referenceTime} t)`;

/** definition, user_key, fact, value of one rule over `events` and `users` (core.dim_users: signed_up_at), without the hash. */
function factRows(definition: RuleSegment, columns: AggregateColumn[], eventNames: string[], events: string, users: string): FactsSql {
  return {
    sql: `select ?::text as definition, x.user_key, v.fact, v.value::bigint as value
      from (select e.user_key, ${columns.map((c) => `${c.sql} as "${c.alias}"`).join(', ')}
            from ${events} e join ${users} r on r.user_key = e.user_key
            where e.event in (${eventNames.map(() => '?').join(', ')}) and (${columns.map((c) => c.rows!.sql).join(' or ')})
            group by e.user_key) x
      cross join lateral (values ${columns.map((c) => `(?::text, x."${c.alias}")`).join(', ')}) as v(fact, value)
      where v.value <> 0`,
    bindings: [definition.name, ...columns.flatMap((c) => c.bindings), ...eventNames, ...columns.flatMap((c) => c.rows!.bindings), ...columns.map((c) => c.alias)],
  };
}

export interface RuleFacts {
  definition: string;
  /** Hash of the per-user SQL and its bindings: stored rows of another hash are recomputed. */
  hash: string;
  /** Event names the facts read (the incremental read's pre-filter). */
  eventNames: string[];
  /** The rows over `events` and `users`, definition_hash included. */
  rows: (events: string, users: string) => FactsSql;
}

/** What segments.rule_event_facts keeps for a rule definition, or undefined when its rule cannot read facts. */
export function ruleFacts(definition: RuleSegment, catalog: FeatureCatalog): RuleFacts | undefined {
  const compiled = compileRule(definition.rule, catalog, 'f');
  const columns = perUserColumns(compiled);
  if (!columns) return undefined;
  const eventNames = [...compiled.eventParts.eventNames];
  const reference = factRows(definition, columns, eventNames, 'events', 'users');
  const hash = createHash('sha256').update(JSON.stringify([reference.sql, reference.bindings])).digest('hex').slice(0, 16);
  return {
    definition: definition.name,
    hash,
    eventNames,
    rows: (events, users) => {
      const body = factRows(definition, columns, eventNames, events, users);
      return { sql: `select definition, user_key, fact, value, ?::text as definition_hash from (${body.sql}) f`, bindings: [hash, ...body.bindings] };
    },
  };
}

/** The `ev` columns of a rule read from the facts (null where a user has none: the rule's coalesce makes it 0). */
export function storedEventColumns(definition: string, columns: AggregateColumn[], facts: RuleEventFactsSource): FactsSql {
  return {
    sql: `select user_key, ${columns.map((c) => `max(value) filter (where fact = ?) as "${c.alias}"`).join(', ')}
      from ${facts.relation} where definition = ? and ${factsApply(facts.referenceTime)}
      group by user_key`,
    bindings: [...columns.map((c) => c.alias), definition],
  };
}
