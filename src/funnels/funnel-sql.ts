/**
 * marts.funnel_steps: a grouped pass over the users' progress (marts.user_funnel_progress,
 * src/funnels/funnel-progress-sql.ts: the step times each user reached) joined with
 * current membership of each funnel's breakdown definition. Per funnel, segment and step:
 * users, conversion from the previous and the first step with Wilson bounds, and the
 * median seconds to convert. O(progress rows), never O(events): membership is what
 * changes with the reference time.
 *
 * One statement for every funnel, so the progress table is read once (not once per
 * funnel) and nothing is materialized but the per-step rows. Each progress row counts
 * twice, for "all" and for its user's segment: grouping sets hash both at once, with
 * the seconds collected per group and the medians taken over them afterwards
 * (percentile_cont is an ordered-set aggregate, which cannot be hashed; sorting every
 * row by its group cost more than the medians themselves).
 */
import { wilsonBoundsSql } from '../stats/sql-intervals.ts';
import type { FunnelDefinition } from './funnel-definition.ts';
import type { FunnelSql } from './funnel-progress-sql.ts';

export type { FunnelSql } from './funnel-progress-sql.ts';

/** Segment label of users in no segment of the breakdown definition. */
export const NO_SEGMENT = '(none)';

const fromPrevious = wilsonBoundsSql('previous_step_users', 'users');
const fromFirst = wilsonBoundsSql('first_step_users', 'users');

// unnest in the select list streams the values; in FROM it would first copy them into a tuplestore.
const median = (values: string) => `(select percentile_cont(0.5) within group (order by x) from (select unnest(${values}) as x) v)`;

export function funnelStepsSql(funnels: readonly FunnelDefinition[], relations: { progress: string; membership: string }): FunnelSql {
  const bindings: (string | number | boolean)[] = [];
  const bind = (value: string | number | boolean) => {
    bindings.push(value);
    return '?';
  };
  const steps = funnels.flatMap((funnel) => funnel.steps.map((s, i) =>
    `(${bind(funnel.name)}::text, ${i + 1}, ${bind(s.title ?? s.event)}::text, ${bind(s.event)}::text, ${bind(funnel.breakdown ?? 'all')}::text, ${bind(funnel.conversion_window)}::text)`));
  const brokenDown = funnels.filter((f) => f.breakdown !== undefined);
  const breakdowns = brokenDown.length === 0
    ? 'select null::text as funnel, null::text as definition where false'
    : `values ${brokenDown.map((f) => `(${bind(f.name)}::text, ${bind(f.breakdown!)}::text)`).join(', ')}`;
  const names = () => funnels.map((f) => bind(f.name)).join(', ');
  const sql = `
    with steps (funnel, step_number, step_title, event, breakdown_definition, conversion_window) as (values ${steps.join(', ')}),
    breakdowns (funnel, definition) as (${breakdowns}),
    segment_of as (
      select b.funnel, m.user_key, min(m.segment) as segment
      from ${relations.membership} m join breakdowns b on b.definition = m.definition
      group by 1, 2
    ),
    -- A user is in a funnel from step 1; segment null where the funnel has no breakdown.
    started as (
      select s.funnel, s.user_key, case when b.funnel is not null then coalesce(m.segment, ${bind(NO_SEGMENT)}) end as segment
      from ${relations.progress} s
      left join breakdowns b on b.funnel = s.funnel
      left join segment_of m on m.funnel = s.funnel and m.user_key = s.user_key
      where s.funnel in (${names()}) and s.step_number = 1
    ),
    collected as (
      select p.funnel, coalesce(u.segment, 'all') as segment, p.step_number, count(*) as users,
             array_agg(p.seconds_from_previous) as seconds_from_previous, array_agg(p.seconds_from_first) as seconds_from_first
      from ${relations.progress} p join started u on u.funnel = p.funnel and u.user_key = p.user_key
      where p.funnel in (${names()})
      group by grouping sets ((p.funnel, p.step_number), (p.funnel, p.step_number, u.segment))
      having grouping(u.segment) = 1 or u.segment is not null
    ),
    per_step as (
      select funnel, segment, step_number, users,
             ${median('seconds_from_previous')} as median_seconds_from_previous,
             ${median('seconds_from_first')} as median_seconds_from_first
      from collected
    ),
    -- Every segment has its step-1 row, so these are the segments of the started users.
    grid as (
      select s.funnel, s.step_number, s.step_title, s.event, s.breakdown_definition, g.segment, coalesce(p.users, 0) as users,
             p.median_seconds_from_previous, p.median_seconds_from_first, s.conversion_window
      from (select distinct funnel, segment from per_step) g join steps s on s.funnel = g.funnel
      left join per_step p on p.funnel = g.funnel and p.segment = g.segment and p.step_number = s.step_number
    ),
    counted as (
      select *, lag(users) over (partition by funnel, segment order by step_number) as previous_step_users,
             first_value(users) over (partition by funnel, segment order by step_number) as first_step_users
      from grid
    )
    select funnel, step_number, step_title, event, breakdown_definition, segment, users::bigint,
           previous_step_users::bigint, users::float8 / nullif(previous_step_users, 0) as conversion_from_previous,
           ${fromPrevious.lower} as conversion_from_previous_ci_lower, ${fromPrevious.upper} as conversion_from_previous_ci_upper,
           first_step_users::bigint, users::float8 / nullif(first_step_users, 0) as conversion_from_first,
           ${fromFirst.lower} as conversion_from_first_ci_lower, ${fromFirst.upper} as conversion_from_first_ci_upper,
           median_seconds_from_previous, median_seconds_from_first, conversion_window
    from counted`;
  return { sql, bindings };
}
