import { APPENDED_FROM, appendedUsersOf } from '../../src/identity/appended-users.ts';
import { rowsOfTouched, touchedCte, touchedOrGoneKeys } from '../../src/identity/touched-users-rows.ts';
import { defineModel } from '../../src/models/model-definition.ts';
import { MAX_PATH_LENGTH, PATH_LOOKBACK, PATH_OUTCOMES, PATH_SEPARATOR } from './segment_paths.ts';

/**
 * Each user's paths, the per-user half of marts.segment_paths: a user's path is a function
 * of their own events and outcomes only (not of the reference time), so an incremental
 * build recomputes just the users the new batches touch (src/identity/touched-users-rows.ts),
 * and segment_paths aggregates this table instead of re-reading every event.
 * A user the run only appends events to (src/identity/appended-users.ts) keeps the stored path
 * of an outcome reached before their first new event, and their stalled path is the new events
 * after the last stored ones before it (TAIL_EVENTS, read backwards by the index): the
 * last runs of distinct events need no more, unless those events hold fewer than
 * MAX_PATH_LENGTH runs, when that user's window is read whole as for everyone else.
 */
const TAIL_EVENTS = 16;

/**
 * `user_key, outcome, path_length, converted, path` from `windowed` (outcome, user_key, converted, event, occurred_at,
 * message_id, previous_event: the events of each path's window, and the one before each): the last runs of distinct events.
 */
const paths = (windowed: string) => `
  select c.user_key, c.outcome, l.path_length, c.converted, string_agg(c.event, '${PATH_SEPARATOR}' order by c.from_end desc) as path
  from (
    select outcome, user_key, converted, event,
           row_number() over (partition by outcome, user_key order by occurred_at desc, message_id desc) as from_end
    from (${windowed}) w where previous_event is distinct from event
  ) c
  join (select generate_series(1, ${MAX_PATH_LENGTH}) as path_length) l on c.from_end <= l.path_length
  group by c.user_key, c.outcome, l.path_length, c.converted
  having count(*) = l.path_length`;
const EVENTS = 'core.fct_events';
export default defineModel({
  name: 'marts.user_paths',
  description: `Each user's path per outcome (${PATH_OUTCOMES.join(', ')}) and length (1–${MAX_PATH_LENGTH}): the last consecutive distinct events in the ${PATH_LOOKBACK} before their first outcome of the kind (converted) or up to their last event (stalled). What marts.segment_paths counts.`,
  owner: 'data-platform',
  tags: ['marts', 'segments'],
  materialized: 'incremental',
  // A touched user's paths mostly end as they did: new events of kinds already last repeat them (bench rounds: 55 of 15.4k rows
  // differed in one, most in another); such users are left alone rather than rewritten (skipUnchanged).
  incremental: { uniqueKey: 'user_key', skipUnchanged: true },
  indexes: [['user_key']],
  // marts.segment_path_counts applies these (delta maintenance).
  keepChanges: {},
  deltaFrom: [...APPENDED_FROM],
  tests: [{ unique_combination: ['user_key', 'outcome', 'path_length'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    outcome: { type: 'text', description: 'Outcome kind the path leads to (or stalls before)', tests: ['not_null', { accepted_values: [...PATH_OUTCOMES] }] },
    path_length: { type: 'integer', description: 'Events in the path', tests: ['not_null'] },
    converted: { type: 'boolean', description: 'The user reached the outcome (the path ends before it); false: stalled (ends at the last event)', tests: ['not_null'] },
    path: { type: 'text', description: `Events in order, joined by "${PATH_SEPARATOR.trim()}"`, tests: ['not_null'] },
  },
  staleKeys: (knex, { ref, incremental, delta }) => touchedOrGoneKeys(knex, ref, incremental!, delta),
  build: (knex, { ref, incremental, delta }) => {
    // Incremental: each touched user's last event is one probe of fct_events' (user_key, occurred_at) index, and the events
    // within the lookback of each end are read from the table itself (ends holds only touched users), not from all the
    // touched users' events materialized first (EXPLAIN ANALYZE, 2,114 touched users: 3.1-4.3 s → 2.0-2.7 s, same rows).
    const lastEvents = incremental
      // offset 0: pulled up, the probe ran once per user for the filter and again per user and outcome for end_at.
      ? `(select t.user_key, (select max(e.occurred_at) from ${ref(EVENTS)} e where e.user_key = t.user_key) as last_at from touched t offset 0) u`
      : '(select user_key, max(occurred_at) as last_at from events group by 1) u';
    // With fct_events' and the map's changes, where an appended user's path comes from (source); else every end reads its window.
    const appending = incremental && delta;
    const lookback = `interval '${PATH_LOOKBACK}'`;
    return knex.raw(`
      with ${incremental ? `${touchedCte(knex, ref, incremental)},` : ''}
      ${appending ? `appended as materialized (${appendedUsersOf(knex, ref, incremental, delta)}),` : ''}
      outcomes (outcome) as (values ${PATH_OUTCOMES.map((o) => `('${o}')`).join(', ')}),
      ${incremental ? '' : `events as (select user_key, occurred_at, message_id, event from ${ref(EVENTS)} e where user_key is not null),`}
      first_outcomes as (
        select o.outcome, f.user_key, min(f.occurred_at) as converted_at
        from ${rowsOfTouched(ref, 'core.fct_outcomes', incremental, false)} f join outcomes o on o.outcome = f.outcome_type where f.user_key is not null group by 1, 2
      ),
      -- Where each user's path ends, per outcome: the first outcome (converted) or the last event (stalled).
      -- Materialized: inlined, the planner hashed every event once per outcome (400k rows for 2k touched users)
      -- before the left join; a user-and-outcome list is hashed instead (EXPLAIN ANALYZE: 2.9 s → 1.3 s).
      ends as materialized (
        select o.outcome, u.user_key, c.converted_at is not null as converted, coalesce(c.converted_at, u.last_at) as end_at
        ${appending ? `, a.first_new_at,
          -- 'stored': converted before the new events, the path is as stored; 'tail': stalled, it ends in them; else its window.
          case when a.user_key is null then 'history' when c.converted_at is null then 'tail' when c.converted_at <= a.first_new_at then 'stored' else 'history' end as source` : ''}
        from ${lastEvents}
        cross join outcomes o
        left join first_outcomes c on c.outcome = o.outcome and c.user_key = u.user_key
        ${appending ? 'left join appended a on a.user_key = u.user_key' : ''}
        where u.last_at is not null   -- a touched user without events has no path
      ),
      ${appending ? `
      -- A stalled path is the same for every outcome the user has not reached: one per user, their last stored events
      -- before the first new one within the lookback (one backward range of the index), then the new ones.
      tail_ends as materialized (select distinct user_key, first_new_at, end_at from ends where source = 'tail'),
      tail_windowed as materialized (
        select x.user_key, x.event, x.occurred_at, x.message_id, x.stored,
               lag(x.event) over (partition by x.user_key order by x.occurred_at, x.message_id) as previous_event
        from (
          select n.user_key, t.event, t.occurred_at, t.message_id, true as stored
          from tail_ends n cross join lateral (
            select e.event, e.occurred_at, e.message_id from ${ref(EVENTS)} e
            where e.user_key = n.user_key and e.occurred_at < n.first_new_at and e.occurred_at >= n.end_at - ${lookback}
            order by e.occurred_at desc, e.message_id desc limit ${TAIL_EVENTS}) t
          union all
          select n.user_key, a.event, a.occurred_at, a.message_id, false
          from tail_ends n join ${delta.changes[EVENTS]} a on a.user_key = n.user_key and a.change = 'added'
          where a.occurred_at >= n.end_at - ${lookback}
        ) x
      ),
      -- The tail may have cut runs the path needs (all of it read, fewer runs than the longest path): those read their window.
      short as (
        select user_key from tail_windowed group by 1
        having count(*) filter (where stored) = ${TAIL_EVENTS} and count(*) filter (where previous_event is distinct from event) < ${MAX_PATH_LENGTH}
      ),
      tail_paths as (${paths(`select 'any' as outcome, user_key, false as converted, event, occurred_at, message_id, previous_event from tail_windowed where user_key not in (select user_key from short)`)}),` : ''}
      windowed as (
        select n.outcome, n.user_key, n.converted, e.event, e.occurred_at, e.message_id,
               lag(e.event) over (partition by n.outcome, n.user_key order by e.occurred_at, e.message_id) as previous_event
        -- Incremental: lateral (offset 0 keeps it from being pulled up into a join), so each end is one range scan of the
        -- (user_key, occurred_at) index. Joined, with the touched users' count known (the run's table), the planner hashed
        -- every event instead (1.15M rows for 95k: twice as slow).
        from ends n ${incremental ? `cross join lateral (select * from ${ref(EVENTS)} e where e.user_key = n.user_key` : `join events e on e.user_key = n.user_key where true`}
          and e.occurred_at >= n.end_at - ${lookback}   -- one range of the index (an or with = end_at ORed in a second index)
          and e.occurred_at <= n.end_at and (e.occurred_at < n.end_at or not n.converted)${incremental ? ' offset 0) e' : ''}
        ${appending ? `where n.source = 'history' or n.source = 'tail' and n.user_key in (select user_key from short)` : ''}
      ),
      final as (${paths('select * from windowed')})
      select * from final
      ${appending ? `union all
      select p.user_key, n.outcome, p.path_length, p.converted, p.path from tail_paths p join ends n on n.user_key = p.user_key and n.source = 'tail'
      union all
      select s.user_key, s.outcome, s.path_length, s.converted, s.path from ${delta.this} s
      where s.user_key = any(array(select user_key from ends where source = 'stored'))
        and (s.user_key, s.outcome) in (select user_key, outcome from ends where source = 'stored')` : ''}`);
  },
});
