import { rowsOfTouched, touchedCte, touchedOrGoneKeys } from '../../src/identity/touched-users-rows.ts';
import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';

/**
 * Each user's first SEGLAYER_VALIDATION_FOLLOW_UP_DAYS days after signup (else first seen): the per-user half of
 * marts.segment_validation, which measures every claim over exactly this follow-up. A function of the user's own
 * signup, outcomes and events, not of the reference time, so an incremental build recomputes only the users the new
 * batches touch (src/identity/touched-users-rows.ts, as marts.user_paths) and the daily build reads these rows
 * instead of every windowed user's outcomes and days: at 500k users that was 365k index probes of marts.user_days
 * and an outcome join, ~10 of segment_validation's 15 s, on every build because the windows move with as_of_at.
 * Rows of users whose follow-up has not ended yet hold what it had so far; segment_validation's windows end a
 * follow-up before as_of_at, so it reads only finished ones. A changed follow-up length changes this SQL, and the
 * runner builds it in full then (src/models/definition-changes.ts).
 */
export default (project: ProjectContent) => {
  const { followUpDays } = project.settings.validationWindows;
  return defineModel({
    name: 'marts.user_follow_up',
    description:
      'Per user: their first follow_up_days after signup (else first seen) and what happened in it: an upgrade, an order, a churn, an event in its second half, net revenue. What marts.segment_validation compares members and others on.',
    owner: 'data-platform',
    tags: ['marts', 'segments'],
    materialized: 'incremental',
    incremental: { uniqueKey: 'user_key' },
    indexes: [['user_key']],
    // Only for staleKeys: the keys merged away since the last build, from the map's kept changes (goneKeys).
    deltaFrom: ['core.user_identity_map'],
    columns: {
      user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique', { relationships: { to: 'core.dim_users', field: 'user_key' } }] },
      started_at: { type: 'timestamptz', description: 'Signup time, else first seen: where the follow-up starts', tests: ['not_null'] },
      followed_until: { type: 'timestamptz', description: 'End of the follow-up (started_at + follow_up_days), exclusive', tests: ['not_null'] },
      follow_up_days: { type: 'integer', description: 'Length of the follow-up in days (SEGLAYER_VALIDATION_FOLLOW_UP_DAYS)', tests: ['not_null'] },
      upgraded: { type: 'boolean', description: 'An upgrade outcome in the follow-up', tests: ['not_null'] },
      ordered: { type: 'boolean', description: 'A purchase or upgrade with revenue in the follow-up', tests: ['not_null'] },
      churned: { type: 'boolean', description: 'A churn outcome in the follow-up', tests: ['not_null'] },
      active: { type: 'boolean', description: 'An event in the second half of the follow-up', tests: ['not_null'] },
      revenue_usd: { type: 'numeric', description: 'Net revenue in the follow-up (refunds deducted), USD', tests: ['not_null'] },
    },
    staleKeys: (knex, { ref, incremental, delta }) => touchedOrGoneKeys(knex, ref, incremental!, delta),
    build: (knex, { ref, incremental }) =>
      knex.raw(
        `
      with ${incremental ? `${touchedCte(knex, ref, incremental)},` : ''}
      users as (
        select user_key, coalesce(signed_up_at, first_seen_at) as started_at,
               coalesce(signed_up_at, first_seen_at) + make_interval(days => :days) as followed_until
        from ${rowsOfTouched(ref, 'core.dim_users', incremental, false)} u
        where coalesce(signed_up_at, first_seen_at) is not null
      ),
      outcomes as (
        select u.user_key,
               bool_or(o.outcome_type = 'upgrade') as upgraded,
               bool_or(o.outcome_type in ('purchase', 'upgrade') and o.revenue_usd > 0) as ordered,
               bool_or(o.outcome_type = 'churn') as churned,
               coalesce(sum(o.revenue_usd) filter (where o.is_revenue), 0) as revenue_usd
        from users u join ${ref('core.fct_outcomes')} o on o.user_key = u.user_key and o.occurred_at >= u.started_at and o.occurred_at < u.followed_until
        group by 1
      ),
      -- An event in [active_from, followed_until), decided from the user's days (marts.user_days) instead of every
      -- event: a day strictly between the two ends counts whole; an end day by its first or last event. Only a
      -- window within one day whose events all fall outside it on both sides needs the events themselves.
      active_windows as (select user_key, started_at + (followed_until - started_at) / 2 as active_from, followed_until from users),
      -- A lateral probe with limit 1 rather than exists: the planner, misjudging how many users there are, hashed
      -- every user day (~290k rows at 20k users) for a semi join; this reads each user's days by the (user_key, day) index.
      activity as (
        select w.user_key
        from active_windows w
        cross join lateral (
          select 1 from ${ref('marts.user_days')} d
          where d.user_key = w.user_key and d.events > 0
            and d.day >= (w.active_from at time zone 'UTC')::date and d.day <= (w.followed_until at time zone 'UTC')::date
            and ((d.day > (w.active_from at time zone 'UTC')::date and d.day < (w.followed_until at time zone 'UTC')::date)
                 or (d.first_event_at >= w.active_from and d.first_event_at < w.followed_until)
                 or (d.last_event_at >= w.active_from and d.last_event_at < w.followed_until)
                 or (d.first_event_at < w.active_from and d.last_event_at >= w.followed_until
                     and exists (select 1 from ${ref('core.fct_events')} e where e.user_key = w.user_key and e.occurred_at >= w.active_from and e.occurred_at < w.followed_until)))
          limit 1
        ) hit
      )
      select u.user_key, u.started_at, u.followed_until, :days::int as follow_up_days,
             coalesce(o.upgraded, false) as upgraded, coalesce(o.ordered, false) as ordered, coalesce(o.churned, false) as churned,
             a.user_key is not null as active, coalesce(o.revenue_usd, 0) as revenue_usd
      from users u left join outcomes o using (user_key) left join activity a using (user_key)`,
        { days: followUpDays },
      ),
  });
};
