/**
 * How far each user got in one funnel: the per-user half of marts.funnel_steps
 * (marts.user_funnel_progress). Each event is matched to the steps it satisfies in a
 * single scan; then one window layer per step finds, per user, the first time of
 * step k after step k − 1 was reached and within the conversion window from step 1:
 *
 *   t1 = first step-1 event
 *   tk = min(time of step-k events with t(k−1) < time ≤ t1 + window)
 *
 * All layers read the same matched rows (window functions partitioned by user),
 * so there is no self-join per pair of steps. Ordering is strict (a later step
 * must happen after the previous one, not at the same instant); a user's funnel
 * starts at their first step-1 event. A user's row depends on their own events only
 * (not on the reference time), so an incremental build recomputes touched users alone.
 */
import { createHash } from 'node:crypto';
import { compileRule } from '../segments/rule-compiler.ts';
import { eventCatalog } from './event-catalog.ts';
import type { FunnelDefinition } from './funnel-definition.ts';

export interface FunnelSql {
  sql: string;
  bindings: (string | number | boolean)[];
}

/** A declared property read from the event's JSON; `key()` binds the key at each place it appears. */
const propertyValue: Record<string, (key: () => string) => string> = {
  text: (key) => `(e.properties ->> ${key()})`,
  number: (key) => `(case when jsonb_typeof(e.properties -> ${key()}) = 'number' then (e.properties ->> ${key()})::numeric end)`,
  boolean: (key) => `(case when jsonb_typeof(e.properties -> ${key()}) = 'boolean' then (e.properties ->> ${key()})::boolean end)`,
};

/**
 * user_key, step_number, reached_at, seconds_from_previous, seconds_from_first: one row per step a user reached.
 * `seeds` (funnel, user_key, step_number, reached_at): steps already reached, matched as they are, so a user's
 * stored progress continues with later events alone (see funnelProgressSql).
 */
function progressBody(funnel: FunnelDefinition, events: string, seeds?: string): FunnelSql {
  const bindings: (string | number | boolean)[] = [];
  const bind = (value: string | number | boolean) => {
    bindings.push(value);
    return '?';
  };
  // Declared properties become columns the step conditions read.
  const properties = Object.entries(funnel.properties).map(([key, type]) => `${propertyValue[type]!(() => bind(key))} as "${key}"`);
  const eventRows = `select e.user_key, e.occurred_at, e.event, e.device_type, e.os, e.browser, e.country${properties.map((p) => `, ${p}`).join('')}
        from ${events} e where e.user_key is not null`;
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
  const n = funnel.steps.length;
  const layers = funnel.steps.map((_, i) => {
    const k = i + 1;
    const from = k === 1 ? 'matched' : `layer_${k - 1}`;
    const condition = k === 1 ? 'step = 1' : `step = ${k} and occurred_at > t${k - 1} and occurred_at <= t1 + ${window}`;
    return `layer_${k} as (select *, min(occurred_at) filter (where ${condition}) over (partition by user_key) as t${k} from ${from})`;
  });
  const times = funnel.steps.map((_, i) => `t${i + 1}`);
  const stepRows = funnel.steps.map((_, i) => `(${i + 1}, t${i + 1}, ${i === 0 ? 'null::timestamptz' : `t${i}`})`).join(', ');
  const sql = `
    with matched as (
      select e.user_key, e.occurred_at, s.step
      from (${eventRows}) e
      cross join lateral unnest(array[${stepCases.join(', ')}]) as s(step)
      where ${eventFilter} and s.step is not null${seeds ? `
      union all
      select user_key, reached_at, step_number from ${seeds} where funnel = ${bind(funnel.name)}` : ''}
    ),
    ${layers.join(',\n    ')},
    reached as (
      select user_key, ${times.join(', ')} from layer_${n} where t1 is not null group by user_key, ${times.join(', ')}
    )
    select r.user_key, s.step_number, s.reached_at,
           extract(epoch from s.reached_at - s.previous_at)::float8 as seconds_from_previous,
           extract(epoch from s.reached_at - r.t1)::float8 as seconds_from_first
    from reached r cross join lateral (values ${stepRows}) s(step_number, reached_at, previous_at)
    where s.reached_at is not null`;
  return { sql, bindings };
}

/**
 * What a funnel computes per user, as a hash of that SQL and its bindings (steps,
 * conditions, window, properties; not title, description, owner or breakdown, which
 * only the mart reads). Stored with each row: rows of another hash are recomputed.
 */
export function funnelDefinitionHash(funnel: FunnelDefinition): string {
  const { sql, bindings } = progressBody(funnel, 'events');
  return createHash('sha256').update(JSON.stringify([sql, bindings])).digest('hex').slice(0, 16);
}

/**
 * The funnel's rows of marts.user_funnel_progress from `events` (core.fct_events, or its rows of the users to recompute).
 * With `seeds`, the users' stored rows, and `events` only events after everything stored for them: their progress then.
 * Exact because every stored step time is before those events: step k ≤ m (the last stored) keeps its time (an event
 * reaching it later is not the first), step m + 1 on can only be reached by the later events (a stored one within the
 * window after step m would have been stored), and step 1 is the first new step-1 event when none was stored.
 */
export function funnelProgressSql(funnel: FunnelDefinition, events: string, seeds?: string): FunnelSql {
  const body = progressBody(funnel, events, seeds);
  return {
    sql: `select ?::text as funnel, p.user_key, p.step_number, p.reached_at, p.seconds_from_previous, p.seconds_from_first, ?::text as definition_hash
    from (${body.sql}) p`,
    bindings: [funnel.name, funnelDefinitionHash(funnel), ...body.bindings],
  };
}
