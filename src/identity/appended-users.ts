/**
 * The users whose only change in a run is new events after all their stored ones (issue 19).
 *
 * A daily batch mostly appends: a returning user's new events come after everything stored
 * for them. For such a user, a per-user model can add the new events' contribution to its
 * stored row instead of re-reading the whole history (95 events per touched user on the
 * build bench, against 5 new ones). Everyone else the run touches is recomputed as before.
 *
 * Read from core.fct_events' kept changes (its publish in this run) and the identity map's,
 * so a model using this lists both in `deltaFrom`: without an unbroken chain of changes
 * (a full build, a missed run, --full-refresh) the runner gives it no delta, and it
 * recomputes every touched user. A user is appended when:
 *  - fct_events added rows under their key and removed none, and none of the added events
 *    left another key (a re-keyed event is removed there: those events are not new);
 *  - they had events before, all earlier than the first new one (no late event, no tie);
 *  - the identity map changed no row of theirs, and no new batch of another source (identity
 *    links, users, outcomes, costs, surveys, experiment assignments) names one of their
 *    identities: what a model reads besides events is as it was.
 * It sees what fct_events holds: a new copy of a stored event that fct_events keeps unchanged may
 * still differ in columns only staging keeps (region, utm_source); a model reading those (core.dim_users)
 * checks for such copies itself.
 */
import type { Knex } from 'knex';
import type { DeltaContext, IncrementalContext } from '../models/model-definition.ts';
import { batchArray } from './touched-identities.ts';

type Ref = (name: string) => Knex.Raw;

/** The models whose kept changes the appended users are read from: a model using them lists these in `deltaFrom`. */
export const APPENDED_FROM = ['core.fct_events', 'core.user_identity_map'];

export interface AppendedChanges {
  /** core.fct_events' kept changes (all its columns, `change` 'added' | 'removed'). */
  events: Knex.Raw;
  /** core.user_identity_map's kept changes. */
  identities: Knex.Raw;
}

/** Identities a new batch of a source other than events names (trimmed, as the staging models clean them). */
function otherSourcesNaming(ref: Ref, batches: Knex.Raw): string {
  const named = (table: string, column: string) =>
    `select trim(${column}) as identity from ${ref(`raw.${table}`)} where load_batch_id = any(${batches}) and nullif(trim(${column}), '') is not null`;
  return [
    named('identities', 'user_id'),
    named('identities', 'anonymous_id'),
    named('users', 'user_id'),
    named('outcomes', 'user_id'),
    named('costs', 'user_id'),
    named('survey_responses', 'user_id'),
    named('experiment_assignments', 'user_id'),
    named('experiment_assignments', 'anonymous_id'),
  ].join('\n      union ');
}

/**
 * `select user_key, first_new_at, last_old_at, new_events`: per appended user, the time of their first
 * new event, of their last stored one before it, and how many events are new. `batches` is the bound
 * array of the run's new batches (`batchArray(knex, incremental.newBatches)`).
 */
export function appendedUsers(ref: Ref, changes: AppendedChanges, batches: Knex.Raw): string {
  const events = ref('core.fct_events');
  return `
    select f.user_key, f.first_new_at, o.last_old_at, f.new_events
    from (
      select a.user_key, min(a.occurred_at) as first_new_at, count(*) as new_events
      from ${changes.events} a
      where a.change = 'added'
      group by a.user_key
      -- none of them moved here from another key (hashed: message ids are never null)
      having bool_and(a.message_id not in (select r.message_id from ${changes.events} r where r.change = 'removed'))
    ) f
    -- The last stored event before the first new one, by the (user_key, occurred_at) index.
    cross join lateral (select max(e.occurred_at) as last_old_at from ${events} e where e.user_key = f.user_key and e.occurred_at < f.first_new_at) o
    where o.last_old_at is not null
      -- Hashed (not in) rather than anti-joins: the users above are guessed at a few, and anti-joins planned on that scanned
      -- the changes once per user (8 s for 2k users and 34k changes on the 20k bench database). Keys are never null.
      and f.user_key not in (select r.user_key from ${changes.events} r where r.change = 'removed')
      -- Nothing stored at or after the first new event but the new events themselves.
      and (select count(*) from ${events} e where e.user_key = f.user_key and e.occurred_at >= f.first_new_at) = f.new_events
      and f.user_key not in (select m.user_key from ${changes.identities} m)
      and f.user_key not in (
        select m.user_key from ${ref('core.user_identity_map')} m
        where m.identity in (${otherSourcesNaming(ref, batches)})
      )`;
}

/**
 * `select user_key, first_new_at, last_old_at, new_events` of a model's appended users: the run's table of them when
 * the runner made one (computed once for every model that asks, analyzed: a query is guessed at a few users), else
 * the query over `delta`'s kept changes of core.fct_events and core.user_identity_map.
 */
export function appendedUsersOf(knex: Knex, ref: Ref, incremental: IncrementalContext, delta: DeltaContext): string {
  if (incremental.appendedUsers) return `select user_key, first_new_at, last_old_at, new_events from ${incremental.appendedUsers}`;
  const changes = { events: delta.changes['core.fct_events']!, identities: delta.changes['core.user_identity_map']! };
  return appendedUsers(ref, changes, batchArray(knex, incremental.newBatches));
}
