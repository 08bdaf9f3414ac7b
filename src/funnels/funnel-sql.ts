/**
 * One funnel's rows of marts.funnel_steps: a grouped pass over the users' progress
 * (marts.user_funnel_progress, src/funnels/funnel-progress-sql.ts: the step times
 * each user reached) joined with current membership of the breakdown definition.
 * Per segment and step: users, conversion from the previous and the first step
 * with Wilson bounds, and the median seconds to convert. O(progress rows), never
 * O(events): membership is what changes with the reference time.
 */
import { wilsonBoundsSql } from '../stats/sql-intervals.ts';
import type { FunnelDefinition } from './funnel-definition.ts';
import type { FunnelSql } from './funnel-progress-sql.ts';

export type { FunnelSql } from './funnel-progress-sql.ts';

/** Segment label of users in no segment of the breakdown definition. */
export const NO_SEGMENT = '(none)';

const fromPrevious = wilsonBoundsSql('previous_step_users', 'users');
const fromFirst = wilsonBoundsSql('first_step_users', 'users');

export function funnelSql(funnel: FunnelDefinition, relations: { progress: string; membership: string }): FunnelSql {
  const bindings: (string | number | boolean)[] = [];
  const bind = (value: string | number | boolean) => {
    bindings.push(value);
    return '?';
  };
  const progress = `progress as (select * from ${relations.progress} where funnel = ${bind(funnel.name)})`;
  const groups = funnel.breakdown === undefined
    ? `select user_key, 'all'::text as segment from started`
    : `select user_key, 'all'::text as segment from started
        union all
        select r.user_key, coalesce(m.segment, ${bind(NO_SEGMENT)}) from started r
        left join (select user_key, min(segment) as segment from ${relations.membership} where definition = ${bind(funnel.breakdown)} group by 1) m using (user_key)`;
  const sql = `
    with ${progress},
    started as (select user_key from progress where step_number = 1),
    grouped as (${groups}),
    steps (step_number, step_title, event) as (values ${funnel.steps.map((s, i) => `(${i + 1}, ${bind(s.title ?? s.event)}::text, ${bind(s.event)}::text)`).join(', ')}),
    per_step as (
      select g.segment, p.step_number, count(*) as users,
             percentile_cont(0.5) within group (order by p.seconds_from_previous) as median_seconds_from_previous,
             percentile_cont(0.5) within group (order by p.seconds_from_first) as median_seconds_from_first
      from grouped g join progress p using (user_key)
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
