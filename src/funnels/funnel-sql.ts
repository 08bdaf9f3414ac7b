/**
 * One funnel as one set-based query over core.fct_events. Each event is matched
 * to the steps it satisfies in a single scan; then one window layer per step
 * finds, per user, the first time of step k after step k − 1 was reached and
 * within the conversion window from step 1:
 *
 *   t1 = first step-1 event
 *   tk = min(time of step-k events with t(k−1) < time ≤ t1 + window)
 *
 * All layers read the same matched rows (window functions partitioned by user),
 * so there is no self-join per pair of steps. Ordering is strict (a later step
 * must happen after the previous one, not at the same instant); a user's funnel
 * starts at their first step-1 event.
 */
import { compileRule } from '../segments/rule-compiler.ts';
import { wilsonBoundsSql } from '../stats/sql-intervals.ts';
import { eventCatalog } from './event-catalog.ts';
import type { FunnelDefinition } from './funnel-definition.ts';

export interface FunnelSql {
  sql: string;
  bindings: (string | number | boolean)[];
}

/** Segment label of users in no segment of the breakdown definition. */
export const NO_SEGMENT = '(none)';

const fromPrevious = wilsonBoundsSql('previous_step_users', 'users');
const fromFirst = wilsonBoundsSql('first_step_users', 'users');

/** A declared property read from the event's JSON; `key()` binds the key at each place it appears. */
const propertyValue: Record<string, (key: () => string) => string> = {
  text: (key) => `(e.properties ->> ${key()})`,
  number: (key) => `(case when jsonb_typeof(e.properties -> ${key()}) = 'number' then (e.properties ->> ${key()})::numeric end)`,
  boolean: (key) => `(case when jsonb_typeof(e.properties -> ${key()}) = 'boolean' then (e.properties ->> ${key()})::boolean end)`,
};

export function funnelSql(funnel: FunnelDefinition, relations: { events: string; membership: string }): FunnelSql {
  const bindings: (string | number | boolean)[] = [];
  const bind = (value: string | number | boolean) => {
    bindings.push(value);
    return '?';
  };
  const n = funnel.steps.length;
  // Declared properties become columns the step conditions read.
  const properties = Object.entries(funnel.properties).map(([key, type]) => `${propertyValue[type]!(() => bind(key))} as "${key}"`);
  const events = `select e.user_key, e.occurred_at, e.event, e.device_type, e.os, e.browser, e.country${properties.map((p) => `, ${p}`).join('')}
        from ${relations.events} e where e.user_key is not null`;
  const catalog = eventCatalog(funnel.properties);
  const stepCases = funnel.steps.map((step, i) => {
    const event = bind(step.event);
    if (step.where === undefined) return `case when e.event = ${event} then ${i + 1} end`;
    const rule = compileRule(step.where, catalog, 'e');
    bindings.push(...rule.bindings);
    return `case when e.event = ${event} and ${rule.sql} then ${i + 1} end`;
  });
  const eventFilter = `e.event in (${[...new Set(funnel.steps.map((s) => s.event))].map(bind).join(', ')})`;
  const window = `interval '${funnel.conversion_window}'`; // allowlisted by the schema's regex
  const layers = funnel.steps.map((_, i) => {
    const k = i + 1;
    const from = k === 1 ? 'matched' : `layer_${k - 1}`;
    const condition = k === 1 ? 'step = 1' : `step = ${k} and occurred_at > t${k - 1} and occurred_at <= t1 + ${window}`;
    return `layer_${k} as (select *, min(occurred_at) filter (where ${condition}) over (partition by user_key) as t${k} from ${from})`;
  });
  const times = funnel.steps.map((_, i) => `t${i + 1}`);
  const groups = funnel.breakdown === undefined
    ? `select user_key, 'all'::text as segment from reached`
    : `select user_key, 'all'::text as segment from reached
        union all
        select r.user_key, coalesce(m.segment, ${bind(NO_SEGMENT)}) from reached r
        left join (select user_key, min(segment) as segment from ${relations.membership} where definition = ${bind(funnel.breakdown)} group by 1) m using (user_key)`;
  const stepRows = funnel.steps.map((_, i) => `(${i + 1}, t${i + 1}, ${i === 0 ? 'null::timestamptz' : `t${i}`})`).join(', ');
  const sql = `
    with matched as (
      select e.user_key, e.occurred_at, s.step
      from (${events}) e
      cross join lateral unnest(array[${stepCases.join(', ')}]) as s(step)
      where ${eventFilter} and s.step is not null
    ),
    ${layers.join(',\n    ')},
    reached as (
      select user_key, ${times.join(', ')} from layer_${n} where t1 is not null group by user_key, ${times.join(', ')}
    ),
    grouped as (${groups}),
    steps (step_number, step_title, event) as (values ${funnel.steps.map((s, i) => `(${i + 1}, ${bind(s.title ?? s.event)}::text, ${bind(s.event)}::text)`).join(', ')}),
    per_step as (
      select g.segment, s.step_number, count(*) as users,
             percentile_cont(0.5) within group (order by extract(epoch from s.reached_at - s.previous_at)) as median_seconds_from_previous,
             percentile_cont(0.5) within group (order by extract(epoch from s.reached_at - r.t1)) as median_seconds_from_first
      from grouped g join reached r using (user_key)
      cross join lateral (values ${stepRows}) s(step_number, reached_at, previous_at)
      where s.reached_at is not null
      group by 1, 2
    ),
    grid as (
      select g.segment, s.step_number, s.step_title, s.event, coalesce(p.users, 0) as users, p.median_seconds_from_previous, p.median_seconds_from_first
      from (select distinct segment from grouped) g cross join steps s
      left join per_step p on p.segment = g.segment and p.step_number = s.step_number
    ),
    counted as (
      select *, lag(users) over (partition by segment order by step_number) as previous_step_users,
             first_value(users) over (partition by segment order by step_number) as first_step_users
      from grid
    )
    select ${bind(funnel.name)}::text as funnel, step_number, step_title, event,
           ${bind(funnel.breakdown ?? 'all')}::text as breakdown_definition, segment, users::bigint,
           previous_step_users::bigint, users::float8 / nullif(previous_step_users, 0) as conversion_from_previous,
           ${fromPrevious.lower} as conversion_from_previous_ci_lower, ${fromPrevious.upper} as conversion_from_previous_ci_upper,
           first_step_users::bigint, users::float8 / nullif(first_step_users, 0) as conversion_from_first,
           ${fromFirst.lower} as conversion_from_first_ci_lower, ${fromFirst.upper} as conversion_from_first_ci_upper,
           median_seconds_from_previous, median_seconds_from_first, ${bind(funnel.conversion_window)}::text as conversion_window
    from counted`;
  return { sql, bindings };
}
