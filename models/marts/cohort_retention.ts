import { defineModel } from '../../src/models/model-definition.ts';
import { wilsonBoundsSql } from '../../src/stats/sql-intervals.ts';
import { COHORT_ACTIVITIES, COHORT_GRAINS } from './user_activity_periods.ts';

/**
 * Retention heatmap: a user's cohort is the week or month (UTC) of their first
 * activity of a kind; they count as active in period p when they had that
 * activity again in the p-th period after it (period 0 is the cohort period, so
 * its rate is 1). Every cohort gets every period up to the last one with data,
 * zeros included, so a heatmap has no holes.
 *
 * Segments two ways, in `segment_as_of`:
 *   - 'now': the user's current segments (segments.current_membership);
 *   - 'cohort_start': the segments the user was in when they joined the cohort
 *     (their first activity), read from segments.membership_history — the latest
 *     change whose reference time (reference_at) is at or before that time is an
 *     entry. History starts with the first build's reference time, so for activity
 *     older than that this is empty until history is backfilled.
 *   - 'all': everyone (segment_definition = segment = 'all').
 *
 * Who was active when is marts.user_activity_periods (recomputed for touched users only);
 * this model counts it per cohort, period and segment. It is updated by delta from the changes
 * user_activity_periods, current_membership and membership_history keep, when the runner allows
 * (src/models/model-changes.ts): only the cohorts (per segment) those changes touch, or all of
 * an activity and grain whose last period moved, are recounted, and of those only the cells whose
 * counts differ from the published ones are written (incremental by cell; a cell that drops out is
 * a tombstone, cohort_users = 0); the other rows stay as published. Otherwise counted in full and
 * every cell replaced, and 'cohort_start' is counted in full when history gained a row at or before
 * a cohort's start (possible only with a configured reference time).
 */
const GRAINS = COHORT_GRAINS;
/** A cell: what a row is the count of. Ordered for the index: 'all' rows and a cohort's rows are ranges of it. */
const CELL = ['segment_as_of', 'segment_definition', 'segment', 'activity', 'cohort_grain', 'cohort_start', 'period_number'];
const rate = wilsonBoundsSql('cohort_users', 'active_users');
const rates = `active_users::float8 / cohort_users as retention_rate, ${rate.lower} as retention_ci_lower, ${rate.upper} as retention_ci_upper`;

export default defineModel({
  name: 'marts.cohort_retention',
  description:
    'Retention by cohort: one row per grain (week | month) × activity (any_event | purchase) × cohort start × period number × segment, with cohort size, active users and the retention rate with its Wilson 95% CI. segment_as_of says whether the segment is the one the user is in now or was in at cohort start.',
  owner: 'data-platform',
  tags: ['marts', 'segments'],
  tests: [{ unique_combination: ['cohort_grain', 'activity', 'cohort_start', 'period_number', 'segment_as_of', 'segment_definition', 'segment'] }],
  columns: {
    cohort_grain: { type: 'text', description: 'week (ISO, Monday) or month, UTC', tests: ['not_null', { accepted_values: [...GRAINS] }] },
    activity: { type: 'text', description: 'any_event or purchase: what makes a user join a cohort and count as active', tests: ['not_null', { accepted_values: Object.keys(COHORT_ACTIVITIES) }] },
    cohort_start: { type: 'date', description: 'First day of the cohort period', tests: ['not_null'] },
    period_number: { type: 'integer', description: 'Periods after the cohort period (0 = the cohort period)', tests: ['not_null', { expression: 'period_number >= 0' }] },
    segment_as_of: { type: 'text', description: "now (current segment), cohort_start (segment when the user joined the cohort) or all", tests: ['not_null', { accepted_values: ['now', 'cohort_start', 'all'] }] },
    segment_definition: { type: 'text', description: "Segment definition; 'all' for everyone", tests: ['not_null'] },
    segment: { type: 'text', description: "Segment; 'all' for everyone", tests: ['not_null'] },
    cohort_users: { type: 'bigint', description: 'Users in the cohort (and segment)', tests: ['not_null', { expression: 'cohort_users > 0' }] },
    active_users: { type: 'bigint', description: 'Of those, users with the activity in this period', tests: ['not_null', { expression: 'active_users <= cohort_users' }] },
    retention_rate: { type: 'double precision', description: 'active_users / cohort_users', tests: ['not_null'] },
    retention_ci_lower: { type: 'double precision', description: 'Wilson 95% CI lower bound of the retention rate', tests: ['not_null'] },
    retention_ci_upper: { type: 'double precision', description: 'Wilson 95% CI upper bound of the retention rate', tests: ['not_null'] },
  },
  materialized: 'incremental',
  incremental: { uniqueKey: CELL, tombstoneWhere: 'cohort_users = 0' },
  indexes: [CELL],
  deltaFrom: ['marts.user_activity_periods', 'segments.current_membership', 'segments.membership_history'],
  // Counted from scratch (no delta), every published cell is replaced.
  staleKeys: (knex, { incremental, delta }) => knex.raw(`select ${CELL.join(', ')} from ${incremental!.this}${delta ? ' where false' : ''}`),
  build: (knex, { ref, delta }) => {
    const periods = ref('marts.user_activity_periods');
    const members = ref('segments.current_membership');
    const history = ref('segments.membership_history');
    // Counts: from every user's periods, or (delta) the published counts plus what changed ('all', 'now', and
    // 'cohort_start' below).
    // With P a user's periods and S their segments, P'S' - PS = dP S' + P' dS - dP dS, where dP and dS are
    // the net changes (a touched user's periods are replaced, and those that come back cancel out).
    const net = (changes: unknown, columns: string) =>
      `select ${columns}, sum(case when change = 'added' then 1 else -1 end) as sign from ${changes} group by ${columns} having sum(case when change = 'added' then 1 else -1 end) <> 0`;
    const cell = 'activity, cohort_grain, cohort_start, period_number, segment_as_of, segment_definition, segment';
    const sameGroup = (a: string, b: string) =>
      ['activity', 'cohort_grain', 'cohort_start', 'segment_as_of', 'segment_definition', 'segment'].map((c) => `${a}.${c} = ${b}.${c}`).join(' and ');
    // The user's latest change per segment at or before `joinedAt`, looked up in history's user_key index: a
    // hash join hashed all of history (~0.3 s at 20k users) even when no cohort qualified (a young history),
    // and was no faster when every cohort did (history shifted back a year).
    const segmentsAt = (userKey: string, joinedAt: string) => `lateral (
          select distinct on (h.definition, h.segment) h.definition, h.segment, h.change
          from ${history} h where h.user_key = ${userKey} and h.reference_at <= ${joinedAt}
          order by h.definition, h.segment, h.reference_at desc, h.changed_at desc, (h.change = 'entered') desc
        )`;
    const lastStart = `max(case when cohort_grain = 'month' then (cohort_start + make_interval(months => period_number))::date else cohort_start + 7 * period_number end)`;
    const periodChanges = delta?.changes['marts.user_activity_periods'];
    // The published rows a delta updates: 'all' and 'now', and 'cohort_start' unless it is counted in full.
    const byDelta = (column: string) => `(${column} in ('all', 'now') or (${column} = 'cohort_start' and not (select moved from start_moved)))`;
    // Delta: a cohort's rows (per segment) depend only on its own counts and on the last period with data of
    // its activity and grain. A cohort whose size (period 0) or grid moves is recounted whole, from its published
    // counts plus what changed; in any other, a changed cell is its published row with the changed active count
    // (mostly the latest period, when users come back). The other published rows stay as they are.
    const allAndNow = delta
      ? `
      period_delta as materialized (${net(delta.changes['marts.user_activity_periods'], 'user_key, activity, cohort_grain, cohort_start, period_number')}),
      member_delta as materialized (${net(delta.changes['segments.current_membership'], 'user_key, definition, segment')}),
      -- 'cohort_start': a user's segments at the start of a cohort are a function of their periods (period 0's
      -- first time) and their history at or before it. Only the users whose periods changed are counted again, as
      -- they are (+1) and as they were (-1: their periods now, less the added rows, plus the removed ones), unless
      -- history gained a row at or before a cohort start (only with a configured reference time: a build's
      -- reference time is otherwise after all its activity): then 'cohort_start' is counted in full.
      start_moved as (
        select exists (
          select from ${delta.changes['segments.membership_history']} h
          where h.change = 'added' and h.reference_at <= greatest(
            (select max(first_at) from ${periods} where period_number = 0),
            (select max(first_at) from ${periodChanges} where change = 'removed' and period_number = 0))
        ) as moved
      ),
      -- Only users whose cohort start (period 0's first time), now or before, is at or after history's start
      -- can have segments at it: found by the partial index of period 0, not by reading every touched user's periods.
      starting_users as materialized (
        select user_key from ${periods}
        where period_number = 0 and first_at >= (select reference_at from history_start) and user_key in (select user_key from ${periodChanges})
        union
        select user_key from ${periodChanges} where change = 'removed' and period_number = 0 and first_at >= (select reference_at from history_start)
      ),
      touched_periods as materialized (
        select user_key, activity, cohort_grain, cohort_start, period_number, first_at
        from ${periods} where user_key in (select user_key from starting_users) and not (select moved from start_moved)
      ),
      period_versions as materialized (
        select 1 as sign, * from touched_periods
        union all
        select -1, * from (
          (select * from touched_periods
           except all
           select user_key, activity, cohort_grain, cohort_start, period_number, first_at from ${periodChanges} where change = 'added')
          union all
          select user_key, activity, cohort_grain, cohort_start, period_number, first_at from ${periodChanges} where change = 'removed'
        ) was
      ),
      version_starts as (
        select v.sign, v.user_key, v.activity, v.cohort_grain, h.definition, h.segment
        from period_versions v cross join ${segmentsAt('v.user_key', 'v.first_at')} h
        where v.period_number = 0 and v.first_at >= (select reference_at from history_start) and h.change = 'entered'
      ),
      start_changed as (
        select p.activity, p.cohort_grain, p.cohort_start, p.period_number, 'cohort_start'::text as segment_as_of, s.definition as segment_definition, s.segment,
               sum(p.sign) as active_users
        from version_starts s join period_versions p using (sign, user_key, activity, cohort_grain)
        group by 1, 2, 3, 4, 5, 6, 7
        having sum(p.sign) <> 0
      ),
      changed as materialized (
        select activity, cohort_grain, cohort_start, period_number, 'all'::text as segment_as_of, 'all'::text as segment_definition, 'all'::text as segment, sign as active_users
        from period_delta
        union all
        select p.activity, p.cohort_grain, p.cohort_start, p.period_number, 'now', m.definition, m.segment, p.sign
        from period_delta p join (select * from ${members} where user_key in (select user_key from period_delta)) m using (user_key)
        union all
        select p.activity, p.cohort_grain, p.cohort_start, p.period_number, 'now', d.definition, d.segment, d.sign
        from member_delta d join ${periods} p using (user_key)
        union all
        select p.activity, p.cohort_grain, p.cohort_start, p.period_number, 'now', d.definition, d.segment, -p.sign * d.sign
        from member_delta d join period_delta p using (user_key)
        union all
        select * from start_changed
      ),
      -- Not materialized: each use scans the published table with its own filter (a materialized copy cost more).
      published as not materialized (select ${cell}, active_users from ${delta.this} where ${byDelta('segment_as_of')}),
      -- Read once (by the index): the last period with data, before and after.
      published_all as materialized (
        select activity, cohort_grain, cohort_start, period_number, active_users from published where segment_as_of = 'all' and active_users > 0
      ),
      all_counts as (
        select activity, cohort_grain, cohort_start, period_number, sum(active_users) as active_users
        from (
          select activity, cohort_grain, cohort_start, period_number, active_users from published_all
          union all
          select activity, cohort_grain, cohort_start, period_number, active_users from changed where segment_as_of = 'all'
        ) c
        group by 1, 2, 3, 4
        having sum(active_users) <> 0
      ),
      last_period as (select activity, cohort_grain, ${lastStart} as last_start from all_counts group by 1, 2),
      published_last_period as (
        select activity, cohort_grain, ${lastStart} as last_start from published_all group by 1, 2
      ),
      moved_grains as (
        select activity, cohort_grain from last_period n full join published_last_period o using (activity, cohort_grain)
        where n.last_start is distinct from o.last_start
      ),
      redone as (
        select distinct activity, cohort_grain, cohort_start, segment_as_of, segment_definition, segment from changed where period_number = 0
        union
        select distinct activity, cohort_grain, cohort_start, segment_as_of, segment_definition, segment from published join moved_grains using (activity, cohort_grain)
      ),
      -- The published cells recounted: by the index, a cohort's cells are a range of it. Their counts are the
      -- base the changes add to, and what the recount is compared with (only cells that differ are written).
      -- One index range per group (a join estimated a row per group and hashed the whole table). Disjoint: a
      -- redone group is 'cohort_start' only when that is not counted in full.
      old_cells as materialized (
        select p.* from redone r
        cross join lateral (select ${cell}, cohort_users, active_users from ${delta.this} p where ${sameGroup('r', 'p')} offset 0) p
        union all
        select ${cell}, cohort_users, active_users from ${delta.this} where segment_as_of = 'cohort_start' and (select moved from start_moved)
      ),
      all_and_now as (
        select ${cell}, sum(active_users)::bigint as active_users
        from (
          select ${cell}, active_users from old_cells where active_users > 0 and ${byDelta('segment_as_of')}
          union all
          select ${cell}, active_users from changed c where exists (select from redone r where ${sameGroup('r', 'c')})
        ) counts
        group by 1, 2, 3, 4, 5, 6, 7
        having sum(active_users) <> 0
      ),
      -- Cells of the other cohorts: within the grid, so published; their rows with the new active count.
      cell_changes as (
        select ${cell}, sum(active_users) as active_users from changed c
        where not exists (select from redone r where ${sameGroup('r', 'c')})
        group by 1, 2, 3, 4, 5, 6, 7
        having sum(active_users) <> 0
      ),
      updated_cells as (
        select p.cohort_grain, p.activity, p.cohort_start, p.period_number, p.segment_as_of, p.segment_definition, p.segment, p.cohort_users,
               (p.active_users + d.active_users)::bigint as active_users
        from cell_changes d
        cross join lateral (select * from ${delta.this} p where ${CELL.map((c) => `p.${c} = d.${c}`).join(' and ')} offset 0) p
      ),`
      : `
      -- One grouped pass per way of segmenting, each joined on user_key alone: a join of the user's groups on
      -- (activity, grain, user) was estimated at a few rows and planned as a sort of every (user, group, period) row.
      all_and_now as (
        select activity, cohort_grain, cohort_start, period_number, 'all'::text as segment_as_of, 'all'::text as segment_definition, 'all'::text as segment,
               count(*) as active_users
        from user_periods group by 1, 2, 3, 4
        union all
        select p.activity, p.cohort_grain, p.cohort_start, p.period_number, 'now', m.definition, m.segment, count(*)
        from user_periods p join ${members} m using (user_key)
        group by 1, 2, 3, 4, 5, 6, 7
      ),
      -- The last period with data, from the 'all' counts (a row per cohort and period) rather than every user's periods.
      last_period as (select activity, cohort_grain, ${lastStart} as last_start from all_and_now where segment_as_of = 'all' group by 1, 2),`;
    const columns = 'cohort_grain, activity, cohort_start, period_number, segment_as_of, segment_definition, segment, cohort_users, active_users, retention_rate, retention_ci_lower, retention_ci_upper';
    // Delta: the recounted cells meet their published counts in the grouped pass below. Written are the cells
    // whose counts differ (the rest of a row follows from its counts), and a tombstone (zeros) for a published
    // cell the recount no longer has.
    const oldCounts = (cohortUsers: string, activeUsers: string) => (delta ? `, ${cohortUsers} as old_cohort_users, ${activeUsers} as old_active_users` : '');
    const final = delta
      ? `
        select ${columns} from (select *, ${rates} from updated_cells) u
        union all
        select ${columns.replace('cohort_users, active_users, retention_rate, retention_ci_lower, retention_ci_upper', `
               coalesce(cohort_users, 0) as cohort_users, case when cohort_users is null then 0 else active_users end as active_users,
               coalesce(retention_rate, 0) as retention_rate, coalesce(retention_ci_lower, 0) as retention_ci_lower, coalesce(retention_ci_upper, 0) as retention_ci_upper`)}
        from recounted
        where case when cohort_users is null then old_cohort_users is not null
                   else old_cohort_users is null or cohort_users <> old_cohort_users or active_users <> old_active_users end`
      : `select ${columns} from recounted`;
    return knex.raw(`
      with user_periods as (select activity, cohort_grain, user_key, period_start, first_at, cohort_start, period_number from ${periods}),
      -- History starts with the first build's reference time: only users who joined a cohort since can have a segment at its start.
      history_start as (select min(reference_at) as reference_at from ${history}),${allAndNow}
      -- Cohorts joined since history began, found by user_activity_periods' partial index of period 0.
      cohorts as (
        select activity, cohort_grain, user_key, cohort_start, first_at as joined_at
        from ${periods} where period_number = 0 and first_at >= (select reference_at from history_start)${delta ? ' and (select moved from start_moved)' : ''}
      ),
      segment_at_start as (
        select c.activity, c.cohort_grain, c.user_key, h.definition, h.segment, h.change
        from cohorts c cross join ${segmentsAt('c.user_key', 'c.joined_at')} h
      ),
      actives as (
        select * from all_and_now
        union all
        select p.activity, p.cohort_grain, p.cohort_start, p.period_number, 'cohort_start', s.definition, s.segment, count(*)
        from segment_at_start s join ${periods} p using (activity, cohort_grain, user_key)
        where s.change = 'entered'
        group by 1, 2, 3, 4, 5, 6, 7
      ),
      -- Every user is active in their cohort period: period 0's actives are the cohort's size.
      sizes as (
        select activity, cohort_grain, cohort_start, segment_as_of, segment_definition, segment, active_users as cohort_users from actives where period_number = 0
      ),
      grid as (
        select s.*, p.period_number
        from sizes s join last_period l using (activity, cohort_grain)
        cross join lateral generate_series(0, case when s.cohort_grain = 'month'
            then ((extract(year from l.last_start) - extract(year from s.cohort_start)) * 12 + extract(month from l.last_start) - extract(month from s.cohort_start))::int
            else (l.last_start - s.cohort_start) / 7 end) as p(period_number)
      ),
      -- Grid and actives meet in one grouped pass rather than a left join: the join on seven
      -- keys was planned as a merge join on three, filtering 36M row pairs at 20k users.
      counted as (
        select cohort_grain, activity, cohort_start, period_number, segment_as_of, segment_definition, segment,
               max(cohort_users) as cohort_users, sum(active_users)::bigint as active_users${oldCounts('max(old_cohort_users)', 'max(old_active_users)')}
        from (
          select cohort_grain, activity, cohort_start, period_number, segment_as_of, segment_definition, segment, cohort_users, 0::bigint as active_users${oldCounts('null::bigint', 'null::bigint')} from grid
          union all
          select cohort_grain, activity, cohort_start, period_number, segment_as_of, segment_definition, segment, null::bigint, active_users${oldCounts('null::bigint', 'null::bigint')} from actives${delta ? `
          union all
          select cohort_grain, activity, cohort_start, period_number, segment_as_of, segment_definition, segment, null::bigint, 0::bigint, cohort_users, active_users from old_cells` : ''}
        ) cells
        group by 1, 2, 3, 4, 5, 6, 7
        having max(cohort_users) is not null${delta ? ' or max(old_cohort_users) is not null' : ''}
      ),
      recounted as (
        select ${columns}${oldCounts('old_cohort_users', 'old_active_users')} from (select *, ${rates} from counted) r
      ),
      final as (${final})
      select * from final`);
  },
});
