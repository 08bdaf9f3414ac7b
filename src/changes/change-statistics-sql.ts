/**
 * The SQL of a change's sufficient statistics: one set-based pass over the
 * outcomes and events in [released_at − pre_days, released_at + post_days) that
 * gives, per group (exposed, comparison) × metric, what the difference-in-differences
 * and its parallel-trends check need: n, Σ and Σ² of the pre and post values,
 * Σ(post·pre), and Σ and Σ² of each user's weekly slope over the pre-period.
 * No raw rows leave the database; every name and date from the YAML is a binding.
 *
 * The panel: users first seen before the pre window opens (so both windows can
 * hold their activity), in the exposed segment or the comparison group. A user
 * in both counts as exposed only (the groups must be disjoint).
 * Membership: as of the release when segments.membership_history reaches back to
 * it for that definition (a build recorded it at or before the release), else as
 * of this build (current_membership); `membership_basis` says which.
 * Weeks: week_back 0 is [released_at − 7 d, released_at), 1 the week before, …;
 * the trend uses the K = ⌊pre_days / 7⌋ whole weeks before the release, its week
 * number k = K − 1 − week_back (0 the oldest).
 */
import { aggregate, type SqlPart } from '../experiments/measure-aggregate.ts';
import { membersAsOf } from '../segments/membership-as-of.ts';
import { type ChangeDefinition, EVERYONE_ELSE, type SegmentReference } from './change-definition.ts';

export interface ChangeRelations {
  outcomes: string;
  events: string;
  membership: string;
  history: string;
  users: string;
}

const DAY_MS = 86_400_000;

/** Whole weeks of the pre window, which the parallel-trends slope uses. */
export const trendWeeks = (change: Pick<ChangeDefinition, 'pre_days'>) => Math.floor(change.pre_days / 7);

/** SQL text with `?` bindings in order: interpolated SqlParts are inlined, any other value is bound. */
function sql(strings: TemplateStringsArray, ...values: unknown[]): SqlPart {
  const bindings: unknown[] = [];
  let text = strings[0]!;
  values.forEach((value, i) => {
    if (value && typeof value === 'object' && 'sql' in value && 'bindings' in value) {
      text += (value as SqlPart).sql;
      bindings.push(...(value as SqlPart).bindings);
    } else {
      text += '?';
      bindings.push(value);
    }
    text += strings[i + 1];
  });
  return { sql: text, bindings };
}
const raw = (text: string): SqlPart => ({ sql: text, bindings: [] });
const join = (parts: SqlPart[], separator: string): SqlPart => ({ sql: parts.map((p) => p.sql).join(separator), bindings: parts.flatMap((p) => p.bindings) });

/** Members of a segment on the basis the history allows, and that basis. */
function groupCtes(name: 'exposed' | 'comparison', group: Required<SegmentReference>, change: ChangeDefinition, relations: ChangeRelations): SqlPart {
  const asOf = membersAsOf(group.definition, change.released_at, relations.history);
  return sql`
    ${raw(name)}_basis as (
      select case when exists (select 1 from ${raw(relations.history)} where definition = ${group.definition}::text and reference_at <= ${change.released_at}::timestamptz)
             then 'as_of_release' else 'current' end as basis
    ),
    ${raw(name)}_members as (
      select a.user_key from (${asOf}) a where a.segment = ${group.segment}::text and (select basis from ${raw(name)}_basis) = 'as_of_release'
      union
      select m.user_key from ${raw(relations.membership)} m
      where m.definition = ${group.definition}::text and m.segment = ${group.segment}::text and (select basis from ${raw(name)}_basis) = 'current'
    )`;
}

export function changeStatisticsSql(change: ChangeDefinition, relations: ChangeRelations): SqlPart {
  const released = Date.parse(change.released_at);
  const preStart = new Date(released - change.pre_days * DAY_MS).toISOString();
  const postEnd = new Date(released + change.post_days * DAY_MS).toISOString();
  const weeks = trendWeeks(change);
  const sumOfSquaredWeeks = (weeks * (weeks * weeks - 1)) / 12;
  const everyoneElse = change.comparison === EVERYONE_ELSE;

  const comparison = change.comparison === EVERYONE_ELSE
    ? sql`
    comparison_basis as (select basis from exposed_basis),
    comparison_members as (select user_key from ${raw(relations.users)})`
    : groupCtes('comparison', change.comparison, change, relations);
  const panel = sql`
    panel as (
      select g.user_key, g.grp from (
        select user_key, 'exposed'::text as grp from exposed_members
        union all
        select c.user_key, 'comparison'::text from comparison_members c where not exists (select 1 from exposed_members e where e.user_key = c.user_key)
      ) g join ${raw(relations.users)} u on u.user_key = g.user_key
      where u.first_seen_at < ${preStart}::timestamptz
    )`;

  // Per user and week (week_back −1 = the post window; a week includes its start: released_at − 7 d is week 0), one column per metric.
  const weekBack = sql`case when r.occurred_at >= ${change.released_at}::timestamptz then -1
      else ceil(extract(epoch from (${change.released_at}::timestamptz - r.occurred_at)) / 604800)::int - 1 end`;
  const sourceCte = (source: 'outcomes' | 'events', relation: string): SqlPart => {
    const columns = change.metrics.map((m, i) =>
      ('outcomes' in m.measure) === (source === 'outcomes') ? sql`${aggregate(m.measure, 'true', [])}::float8 as v_${raw(String(i))}` : raw(`0::float8 as v_${i}`),
    );
    if (source === 'events') {
      // Only the metrics' events count, and the panel is most users: the window's events of those names,
      // read once by fct_events' (occurred_at, event, user_key) index and hashed, rather than every event of each
      // panel user by user_key. Index-only: a change counts events, never sessions (change-files.ts).
      const names = [...new Set(change.metrics.flatMap((m) => ('events' in m.measure ? m.measure.events : [])))];
      return sql`
    window_events as materialized (
      select user_key, occurred_at, event from ${raw(relation)}
      where occurred_at >= ${preStart}::timestamptz and occurred_at < ${postEnd}::timestamptz and event = any(${names}::text[])
    ),
    events_weeks as (
      select r.user_key, ${weekBack} as week_back, ${join(columns, ', ')}
      from panel p join window_events r on r.user_key = p.user_key
      group by 1, 2
    )`;
    }
    return sql`
    ${raw(source)}_weeks as (
      select r.user_key, ${weekBack} as week_back, ${join(columns, ', ')}
      from panel p join ${raw(relation)} r on r.user_key = p.user_key
       and r.occurred_at >= ${preStart}::timestamptz and r.occurred_at < ${postEnd}::timestamptz
      group by 1, 2
    )`;
  };
  const sources = (['outcomes', 'events'] as const).filter((s) => change.metrics.some((m) => ('outcomes' in m.measure) === (s === 'outcomes')));
  const sourceCtes = sources.map((s) => sourceCte(s, s === 'outcomes' ? relations.outcomes : relations.events));
  const vs = change.metrics.map((_, i) => `v_${i}`).join(', ');
  const userWeeks = raw(`
    user_weeks as (
      select user_key, week_back, ${change.metrics.map((_, i) => `sum(v_${i}) as v_${i}`).join(', ')}
      from (${sources.map((s) => `select user_key, week_back, ${vs} from ${s}_weeks`).join(' union all ')}) w
      group by user_key, week_back
    )`);

  // Per user: the value in each window (binomial: did it happen) and Σ_k (k − k̄)·y_k over the trend weeks.
  const perUser = join(change.metrics.map((m, i) => {
    const v = `v_${i}`;
    const weekly = m.type === 'binomial' ? `(${v} > 0)::int::float8` : v;
    const window = (filter: string) => (m.type === 'binomial' ? `(coalesce(sum(${v}) filter (where ${filter}), 0) > 0)::int::float8` : `coalesce(sum(${v}) filter (where ${filter}), 0)`);
    return sql`${raw(window('week_back >= 0'))} as pre_${raw(String(i))}, ${raw(window('week_back = -1'))} as post_${raw(String(i))},
      coalesce(sum((${(weeks - 1) / 2}::float8 - week_back) * ${raw(weekly)}) filter (where week_back between 0 and ${weeks - 1}::int), 0) as trend_${raw(String(i))}`;
  }), ',\n      ');
  const unitColumns = change.metrics.map((_, i) =>
    sql`coalesce(u.pre_${raw(String(i))}, 0)::float8 as pre_${raw(String(i))}, coalesce(u.post_${raw(String(i))}, 0)::float8 as post_${raw(String(i))},
      coalesce(u.trend_${raw(String(i))}, 0)::float8 / ${sumOfSquaredWeeks}::float8 as slope_${raw(String(i))}`);
  const sums = change.metrics.map((_, i) =>
    [`pre_${i}`, `post_${i}`, `slope_${i}`].flatMap((c) => [`sum(${c}) as s_${c}`, `sum(${c} * ${c}) as ss_${c}`]).concat(`sum(pre_${i} * post_${i}) as pp_${i}`).join(', '),
  );
  const rows = change.metrics.map((m, i) => sql`(${m.name}::text, ${m.type}::text, a.s_pre_${raw(String(i))}, a.ss_pre_${raw(String(i))}, a.s_post_${raw(String(i))}, a.ss_post_${raw(String(i))}, a.pp_${raw(String(i))}, a.s_slope_${raw(String(i))}, a.ss_slope_${raw(String(i))})`);
  const groupOf = (name: 'exposed' | 'comparison') => {
    const group = name === 'exposed' ? change.exposed : change.comparison;
    return group === EVERYONE_ELSE ? sql`(${name}::text, ${EVERYONE_ELSE}::text, ${EVERYONE_ELSE}::text)` : sql`(${name}::text, ${group.definition}::text, ${group.segment}::text)`;
  };

  return sql`
    with ${groupCtes('exposed', change.exposed, change, relations)},
    ${comparison},
    ${panel},
    ${join(sourceCtes, ',')},
    ${userWeeks},
    per_user as (
      select user_key,
      ${perUser}
      from user_weeks group by user_key
    ),
    units as (
      select p.grp, ${join(unitColumns, ',\n      ')}
      from panel p left join per_user u on u.user_key = p.user_key
    ),
    aggregated as (
      select grp, count(*)::int as n, ${raw(sums.join(',\n        '))}
      from units group by grp
    ),
    groups as (
      select g.grp, g.definition, g.segment, b.basis from (values ${groupOf('exposed')}, ${groupOf('comparison')}) as g(grp, definition, segment)
      join (select 'exposed'::text as grp, basis from exposed_basis union all select 'comparison'::text, basis from comparison_basis) b on b.grp = g.grp
    )
    select ${change.name}::text as change, g.grp as "group", g.definition, g.segment, g.basis as membership_basis,
           ${everyoneElse}::boolean as comparison_is_everyone_else,
           s.metric, s.metric_type, coalesce(a.n, 0) as n,
           coalesce(s.pre_sum, 0) as pre_sum, coalesce(s.pre_sum_squares, 0) as pre_sum_squares,
           coalesce(s.post_sum, 0) as post_sum, coalesce(s.post_sum_squares, 0) as post_sum_squares,
           coalesce(s.post_pre_sum_of_products, 0) as post_pre_sum_of_products,
           ${weeks}::int as trend_weeks, coalesce(s.slope_sum, 0) as slope_sum, coalesce(s.slope_sum_squares, 0) as slope_sum_squares
    from groups g
    left join aggregated a on a.grp = g.grp
    cross join lateral (values ${join(rows, ',\n      ')})
      as s(metric, metric_type, pre_sum, pre_sum_squares, post_sum, post_sum_squares, post_pre_sum_of_products, slope_sum, slope_sum_squares)`;
}
