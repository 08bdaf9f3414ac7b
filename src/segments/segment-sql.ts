/**
 * SQL for each kind of segment, set-based, values as bindings. Each function returns
 * a query over the features relation it is given, with rules checked against the
 * feature catalog it is given (the project's); the models in models/segments/ put them
 * together.
 */
import { kmeansAssignments } from './cluster-sql.ts';
import { hasEventPredicates, populationRule } from './population-rule.ts';
import { compileRule, type CompiledRule, type FeatureCatalog } from './rule-compiler.ts';
import { factsApply, perUserColumns, storedEventColumns, type RuleEventFactsSource } from './rule-event-facts.ts';
import { RFM_SCORES } from './segment-files.ts';
import { rfmScorings, type RfmSegment, type RuleSegment, type SegmentDefinition } from './segment-definition.ts';

export interface Sql {
  sql: string;
  bindings: (string | number | boolean)[];
}

/**
 * Where event predicates read from: relations (SQL text from ref(), or schema.table). Events are read
 * with their stored user_key: core.fct_events re-keys the events an identity merge re-points on
 * incremental builds too (an incremental build equals a full refresh), so they need no second pass
 * through the identity map.
 */
export interface EventSources {
  events: string;
  outcomes: string;
  /** segments.rule_event_facts, for the rules whose event columns it keeps (src/segments/rule-event-facts.ts); unset: rules scan the events. */
  facts?: RuleEventFactsSource;
}
export const WAREHOUSE_EVENT_SOURCES: EventSources = { events: 'core.fct_events', outcomes: 'core.fct_outcomes' };

const rule = populationRule;
const q = (identifier: string) => `"${identifier}"`;

export { hasEventPredicates };

/**
 * The CTEs and joins a rule's event predicates need: one grouped scan of the events
 * (pre-filtered to the named events), one of the outcomes, one windowed scan per
 * sequence; each left-joined to the features row `f`, so users without events stay.
 */
export function eventJoins(compiled: CompiledRule, features: string, sources: EventSources, definition?: string): { with: string; joins: string; bindings: (string | number | boolean)[] } {
  const { events, outcomes, sequences, eventNames } = compiled.eventParts;
  const ctes: string[] = [];
  const joins: string[] = [];
  const bindings: (string | number | boolean)[] = [];
  if (events.length > 0) {
    const names = [...eventNames];
    // When every column reads only the rows of its filter (e.g. performed(...) in a window), the rows outside all of
    // them count for nothing: skipped before grouping (a user left without rows gets 0 / false from the left join).
    const only = events.every((c) => c.rows) ? events.map((c) => c.rows!) : [];
    // Columns kept per user are read from the facts while they apply; otherwise (one-time filters) the scan runs.
    const stored = sources.facts && definition !== undefined && perUserColumns(compiled) ? storedEventColumns(definition, events, sources.facts) : undefined;
    const scan = `select e.user_key, ${events.map((c) => `${c.sql} as "${c.alias}"`).join(', ')}
      from ${sources.events} e join ${features} r on r.user_key = e.user_key
      where e.occurred_at < r.as_of_at and e.event in (${names.map(() => '?').join(', ')})${only.length ? ` and (${only.map((r) => r.sql).join(' or ')})` : ''}
      group by e.user_key`;
    // offset 0 keeps the condition above the scan's parallel workers, so they are not launched for nothing.
    ctes.push(`ev as (${stored ? `${stored.sql}\n      union all\n      select * from (${scan} offset 0) s where not ${factsApply(sources.facts!.referenceTime)}` : scan})`);
    bindings.push(...(stored?.bindings ?? []), ...events.flatMap((c) => c.bindings), ...names, ...only.flatMap((r) => r.bindings));
    joins.push('left join ev on ev.user_key = f.user_key');
  }
  if (outcomes.length > 0) {
    ctes.push(`oc as (select o.user_key, ${outcomes.map((c) => `${c.sql} as "${c.alias}"`).join(', ')}
      from ${sources.outcomes} o join ${features} r on r.user_key = o.user_key
      where o.occurred_at < r.as_of_at
      group by o.user_key)`);
    bindings.push(...outcomes.flatMap((c) => c.bindings));
    joins.push('left join oc on oc.user_key = f.user_key');
  }
  for (const s of sequences) {
    ctes.push(`${s.alias} as (${s.sql.replace('{events}', sources.events).replace('{features}', features)})`);
    bindings.push(...s.bindings);
    joins.push(`left join ${s.alias} on ${s.alias}.user_key = f.user_key`);
  }
  return { with: ctes.length ? `with ${ctes.join(',\n')}\n` : '', joins: joins.join(' '), bindings };
}

/** user_key, definition, segment, version of the users a rule selects. */
export function ruleMembers(definition: RuleSegment, features: string, catalog: FeatureCatalog, sources: EventSources = WAREHOUSE_EVENT_SOURCES): Sql {
  const where = compileRule(definition.rule, catalog, 'f');
  const from = eventJoins(where, features, sources, definition.name);
  return {
    sql: `${from.with}select f.user_key, ?::text as definition, ?::text as segment, ?::int as version from ${features} f ${from.joins} where ${where.sql}`,
    bindings: [...from.bindings, definition.name, definition.name, definition.version, ...where.bindings],
  };
}

/** Bins of an RFM score. */
const BINS = 5;
/** Quantile levels of the bin edges as pandas computes them (numpy linspace: i × 0.2, so 0.6000000000000001). */
const QUANTILE_LEVELS = Array.from({ length: BINS + 1 }, (_, i) => (i === BINS ? 1 : i * (1 / BINS)));

type Dimension = 'recency' | 'frequency' | 'monetary';
const SCORE_COLUMN: Record<Dimension, 'r' | 'f' | 'm'> = { recency: 'r', frequency: 'f', monetary: 'm' };

/**
 * Scores 1–5 of the recency, frequency and monetary features among the scored
 * population, by each dimension's method (rfmScorings):
 *   rank        1 + floor(5 × (rank() − 1) / n): ties share a score, so a score never
 *               depends on row order;
 *   qcut        equal-count bins on the values: edges at the quantile levels above with
 *               linear interpolation (percentile_cont = numpy's linear method), bins right-closed,
 *               the lowest value in bin 1, duplicate edges dropped (pandas qcut, duplicates='drop');
 *   rank_first  qcut of row_number() with ties broken by user key (pandas rank(method='first')
 *               over customers in key order).
 * Recency counts down: the fewest days score 5; a missing value always scores 1. A time
 * recency feature is turned into whole 24-hour days to the reference (as_of_at,
 * last_activity_at from core.reference_time, or a fixed timestamp).
 */
export function rfmScores(definition: RfmSegment, features: string, catalog: FeatureCatalog, referenceTime: string): Sql {
  const { recency, frequency, monetary, bands } = definition.rfm;
  const population = rule(definition.rfm.population, catalog);
  const scorings = rfmScorings(definition);
  const bindings: Sql['bindings'] = [];
  let recencySql = `f.${q(recency)}`;
  if (catalog.get(recency) === 'time') {
    const reference = definition.rfm.reference ?? 'as_of_at';
    let at = 'f.as_of_at';
    if (reference === 'last_activity_at') at = `(select last_activity_at from ${referenceTime})`;
    else if (reference !== 'as_of_at') {
      at = '?::timestamptz';
      bindings.push(reference);
    }
    recencySql = `floor(extract(epoch from ${at} - f.${q(recency)}) / 86400)::int`;
  }
  const value = (d: Dimension) => `${d}_value`;
  // Recency is binned on the values as they are and its score reversed; missing values go to the worst end.
  const ascending = (d: Dimension) => (d === 'recency' ? 'asc nulls last' : 'asc nulls first');
  const dims: Dimension[] = ['recency', 'frequency', 'monetary'];
  const binned = dims.filter((d) => scorings[d] !== 'rank');
  const basis = (d: Dimension) => (scorings[d] === 'rank_first' ? `${d}_rank_first` : `${value(d)}::float8`);
  const levels = `array[${QUANTILE_LEVELS.map(String).join(', ')}]::float8[]`;
  const score = (d: Dimension) => {
    if (scorings[d] === 'rank') {
      const order = d === 'recency' ? 'desc nulls first' : 'asc nulls first';
      return `(1 + floor(${BINS}.0 * (rank() over (order by ${value(d)} ${order}) - 1) / count(*) over ()))::int`;
    }
    const bin = `greatest(1, (select count(distinct edge) from unnest(${d}_edges.edges) edge where edge < ${basis(d)}))::int`;
    if (d === 'recency') return `case when ${value(d)} is null then 1 else ${BINS + 1} - ${bin} end`;
    return `case when ${value(d)} is null then 1 else ${bin} end`;
  };
  const bandRules = bands.map((band) => ({ band, compiled: compileRule(band.rule, RFM_SCORES) }));
  const sql = `
      with population as (
        select f.user_key, ${recencySql} as recency_value, f.${q(frequency)} as frequency_value, f.${q(monetary)} as monetary_value
        from ${features} f where ${population.sql}
      ),
      ranked as (
        select p.*${dims
          .filter((d) => scorings[d] === 'rank_first')
          .map((d) => `, row_number() over (order by ${value(d)} ${ascending(d)}, user_key) as ${d}_rank_first`)
          .join('')}
        from population p
      )${binned.map((d) => `,
      ${d}_edges as (
        select percentile_cont(${levels}) within group (order by ${basis(d)}) as edges from ranked where ${value(d)} is not null
      )`).join('')}
      select user_key, ?::text as definition, ?::int as version, recency_value, frequency_value, monetary_value, r, f, m,
             case ${bandRules.map(({ compiled }) => `when ${compiled.sql} then ?`).join(' ')} end as band
      from (
        select user_key, recency_value, frequency_value, monetary_value, ${dims.map((d) => `${score(d)} as ${SCORE_COLUMN[d]}`).join(', ')}
        from ranked${binned.map((d) => ` cross join ${d}_edges`).join('')}
      ) scored`;
  return {
    sql,
    bindings: [...bindings, ...population.bindings, definition.name, definition.version, ...bandRules.flatMap(({ band, compiled }) => [...compiled.bindings, band.name])],
  };
}

/**
 * Members of any definition computed straight from the features (user_key, segment, ...),
 * for a preview; the models read the materialized RFM scores and clusters instead.
 */
export function segmentMembers(definition: SegmentDefinition, features: string, catalog: FeatureCatalog, sources: EventSources = WAREHOUSE_EVENT_SOURCES): Sql {
  if (definition.kind === 'rule') return ruleMembers(definition, features, catalog, sources);
  if (definition.kind === 'cluster') return kmeansAssignments(definition, features, catalog);
  const scored = rfmScores(definition, features, catalog, 'core.reference_time');
  return { sql: `select user_key, band as segment from (${scored.sql}) s where band is not null`, bindings: scored.bindings };
}
