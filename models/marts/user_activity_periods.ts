import { goneKeys } from '../../src/identity/touched-users-rows.ts';
import { userDaysChangedFrom } from '../../src/identity/user-days-changed-from.ts';
import { defineModel } from '../../src/models/model-definition.ts';

/** Cohort grains of marts.cohort_retention. */
export const COHORT_GRAINS = ['week', 'month'] as const;
/**
 * What makes a user join a cohort and count as active: the days of marts.user_days (rows `d`) with it, and
 * its first time that day. An order, as features.user_features counts one: a purchase or upgrade with revenue.
 */
export const COHORT_ACTIVITIES = {
  any_event: { where: 'd.events > 0', firstAt: 'd.first_event_at' },
  purchase: { where: 'd.orders > 0', firstAt: 'd.first_order_at' },
};

/**
 * The per-user half of marts.cohort_retention: the periods (week, month, UTC) in which each
 * user had each activity, with the first time in each. A function of the user's own events
 * and outcomes only (not of the reference time), so cohort_retention aggregates this table (about
 * a dozen rows per user) instead of grouping every event. Grouped from the user's days
 * (marts.user_days): a UTC week or month is a set of UTC days, and there are a quarter as many day
 * rows as events. An incremental build replaces a user's periods of each grain from the one holding
 * the first day that changed (user_days' kept changes): a period before it holds only unchanged days,
 * and its cohort start is unchanged unless that first changed day reaches back to it, which replaces all.
 */
export default defineModel({
  name: 'marts.user_activity_periods',
  description: "Every week and month (UTC) in which a user had an activity (any_event, purchase), with the first time in it, the user's cohort (first such period) and the period's number after it: what marts.cohort_retention counts.",
  owner: 'data-platform',
  tags: ['marts', 'segments'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  indexes: [['user_key']],
  // marts.cohort_retention's cohorts joined since membership history began (period 0: a sixth of the rows).
  partialIndexes: [{ name: 'cohorts', columns: ['first_at'], where: 'period_number = 0' }],
  // marts.cohort_retention applies these (delta maintenance): what a user counts in, and when (period 0's first
  // time decides the segments at cohort start).
  keepChanges: { columns: ['user_key', 'activity', 'cohort_grain', 'cohort_start', 'period_number', 'first_at'] },
  // The days that changed, per user; without them (a broken chain) what marts.user_days replaces is worked out again.
  deltaFrom: ['marts.user_days'],
  tests: [{ unique_combination: ['user_key', 'activity', 'cohort_grain', 'period_start'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    activity: { type: 'text', description: 'any_event or purchase', tests: ['not_null', { accepted_values: Object.keys(COHORT_ACTIVITIES) }] },
    cohort_grain: { type: 'text', description: 'week (ISO, Monday) or month, UTC', tests: ['not_null', { accepted_values: [...COHORT_GRAINS] }] },
    period_start: { type: 'date', description: 'First day of the period', tests: ['not_null'] },
    first_at: { type: 'timestamptz', description: 'The first time the user had the activity in the period', tests: ['not_null'] },
    cohort_start: { type: 'date', description: "The user's cohort: their first period with the activity", tests: ['not_null'] },
    period_number: { type: 'integer', description: 'Periods after the cohort period (0: the cohort period itself)', tests: ['not_null', { expression: 'period_number >= 0' }] },
  },
  // A key merged away lost all its days: with user_days' changes, its range is every row already.
  staleKeys: (knex, { ref, incremental, delta }) => knex.raw(delta ? 'select null::text as user_key where false' : goneKeys(ref, incremental!)),
  replaceFrom: {
    column: 'period_start',
    by: ['cohort_grain'],   // weeks from the changed day's week, months from its month
    keys: (knex, { ref, incremental, delta }) => {
      const changed = delta
        ? `select user_key, min(day) as replace_from from ${delta.changes['marts.user_days']} group by user_key`
        : userDaysChangedFrom(knex, ref, incremental!, undefined);
      return knex.raw(`
        select c.user_key, g.cohort_grain, date_trunc(g.cohort_grain, c.replace_from::timestamp)::date as replace_from
        from (${changed}) c cross join (values ${COHORT_GRAINS.map((g) => `('${g}')`).join(', ')}) g(cohort_grain)`);
    },
  },
  build: (knex, { ref, incremental }) => {
    // Incremental: each replaced user's days from their first replaced period of either grain on (one index lookup
    // each), read once.
    const userDays = incremental ? 'replaced_days' : ref('marts.user_days');
    return knex.raw(`
      with ${incremental ? `replaced_users as (
        select user_key, case when bool_or(replace_from is null) then null else min(replace_from) end as replace_from
        from ${incremental.replaced} group by user_key
      ),
      replaced_days as materialized (
        select d.* from replaced_users s
        cross join lateral (select * from ${ref('marts.user_days')} d where d.user_key = s.user_key and d.day >= coalesce(s.replace_from, '-infinity') offset 0) d
      ),` : ''}
      activity as (
        ${Object.entries(COHORT_ACTIVITIES).map(([name, a]) => `select d.user_key, '${name}'::text as activity, d.day, ${a.firstAt} as first_at from ${userDays} d where ${a.where}`).join('\n        union all\n        ')}
      ),
      grains (cohort_grain) as (values ${COHORT_GRAINS.map((g) => `('${g}')`).join(', ')}),
      periods as (
        select a.user_key, a.activity, g.cohort_grain, date_trunc(g.cohort_grain, a.day::timestamp)::date as period_start,
               min(a.first_at) as first_at
        from activity a cross join grains g
        group by 1, 2, 3, 4
      ),
      ${incremental ? `kept_cohorts as (   -- cohorts that start before the replaced periods: kept, and unchanged
        select t.* from ${incremental.replaced} s
        cross join lateral (   -- by user and grain (a scan of every period 0 cost 0.25 s)
          select t.user_key, t.activity, t.cohort_grain, t.cohort_start from ${incremental.this} t
          where t.user_key = s.user_key and t.cohort_grain = s.cohort_grain and t.period_number = 0 and t.period_start < s.replace_from offset 0) t
      ),
      replaced_periods as (   -- the replaced ones: whole periods (a month begun before a week's start holds days not read)
        select p.* from periods p join ${incremental.replaced} s on s.user_key = p.user_key and s.cohort_grain = p.cohort_grain
        where p.period_start >= coalesce(s.replace_from, '-infinity')
      ),
      cohorts as (
        select p.*, least(k.cohort_start, min(p.period_start) over (partition by p.user_key, p.activity, p.cohort_grain)) as cohort_start
        from replaced_periods p left join kept_cohorts k using (user_key, activity, cohort_grain)
      ),` : 'cohorts as (select *, min(period_start) over (partition by user_key, activity, cohort_grain) as cohort_start from periods),'}
      final as (
        select user_key, activity, cohort_grain, period_start, first_at, cohort_start,
               case when cohort_grain = 'month'
                    then ((extract(year from period_start) - extract(year from cohort_start)) * 12 + extract(month from period_start) - extract(month from cohort_start))::int
                    else (period_start - cohort_start) / 7 end as period_number
        from cohorts
      )
      select * from final`);
  },
});
