/**
 * For per-user models whose rows are a user's UTC days, or periods of them (marts.user_days,
 * marts.user_activity_periods), replaced from a day on (replaceFrom): per user, the first day whose
 * rows the new batches can change, null when every row can. Rewriting a touched user's whole
 * history (44k rows for 2,114 users on the build bench) cost more than computing what changed.
 *
 * A user's days are a function of their rows in core.fct_events and core.fct_outcomes, which change
 * only where (a) a new batch brings an event or outcome, on its day, (b) a new copy displaces a kept
 * one: on the old copy's day, for whoever its ids name, or (c) the identity map re-keys an identity:
 * every row of its old and new user. With the kept changes of the identity map and stg_events that
 * follow what the model was computed from (`delta`, its deltaFrom: DELTA_FROM), (c) is known exactly and
 * (b) is stg_events' removed rows; otherwise every touched user is taken whole (touchedUserKeys covers
 * the users re-keying can move rows to or from) and (b) is every earlier raw copy of a new message id.
 */
import type { Knex } from 'knex';
import type { DeltaContext, IncrementalContext } from '../models/model-definition.ts';
import { displacedCopies, STAGED_EVENTS } from './displaced-copies.ts';
import { batchArray } from './touched-identities.ts';
import { touchedCte } from './touched-users-rows.ts';

type Ref = (name: string) => Knex.Raw;

/** What a model calling userDaysChangedFrom with its delta keeps in its deltaFrom. */
export const DELTA_FROM = ['core.user_identity_map', STAGED_EVENTS];

/** `user_key, replace_from` (a date, null: every row), one row per user whose days can have changed. */
export function userDaysChangedFrom(knex: Knex, ref: Ref, incremental: IncrementalContext, delta: DeltaContext | undefined): string {
  const batches = batchArray(knex, incremental.newBatches).toQuery();
  const identityChanges = delta?.changes['core.user_identity_map'];
  const displaced = delta
    ? `select user_id, anonymous_id, occurred_at from ${displacedCopies(delta)} d where occurred_at is not null`
    : `select nullif(trim(user_id), '') as user_id, nullif(trim(anonymous_id), '') as anonymous_id, occurred_at from ${ref('raw.events')}
            where message_id = any(array(select n.message_id from ${ref('raw.events')} n where n.load_batch_id = any(${batches})))
              and load_batch_id <> all(${batches}) and occurred_at is not null`;
  const map = ref('core.user_identity_map');
  // The key an event's ids resolve to, as core.fct_events resolves it (the user id's, else the anonymous id's, else its own).
  const keysOf = (e: string) => `cross join lateral (
        select coalesce((select m.user_key from ${map} m where m.identity = ${e}.user_id),
                        (select m.user_key from ${map} m where m.identity = ${e}.anonymous_id and ${e}.user_id is null),
                        'anon:' || ${e}.anonymous_id) as user_key
      ) k`;
  return `
    with ${identityChanges ? '' : `${touchedCte(knex, ref, incremental)},`}
    starts (user_key, day) as (
      -- (a) the events the new batches bring (their kept copies), by ids first: a tenth as many map lookups
      select k.user_key, (e.first_at at time zone 'UTC')::date
      from (select user_id, anonymous_id, min(occurred_at) as first_at from ${ref('staging.stg_events')}
            where load_batch_id = any(${batches}) group by 1, 2) e
      ${keysOf('e')}
      where k.user_key is not null
      union all   -- (a) their outcomes
      select m.user_key, (o.occurred_at at time zone 'UTC')::date from ${ref('raw.outcomes')} o join ${map} m on m.identity = nullif(trim(o.user_id), '')
      where o.load_batch_id = any(${batches}) and o.occurred_at is not null
      union all   -- (b) the kept copies they displace, on their old day
      select k.user_key, (r.occurred_at at time zone 'UTC')::date
      from (${displaced}) r
      ${keysOf('r')}
      where k.user_key is not null
      union all   -- (c) every row of a user an identity left or joined (as core.fct_events finds its re-keyed users: an
                  -- identity new to the map can only have had rows under anon:<id>)
      ${identityChanges
        ? `select k.user_key, null::date
      from (select identity, user_key from ${identityChanges} where change = 'removed') o
      full join (select identity, user_key from ${identityChanges} where change = 'added') n on n.identity = o.identity
      cross join lateral (values (o.user_key), (n.user_key), ('anon:' || coalesce(o.identity, n.identity))) k(user_key)
      where k.user_key is not null
        and (o.identity is not null or exists (select 1 from ${incremental.this} t where t.user_key = 'anon:' || n.identity))`
        : 'select user_key, null::date from touched'}
    )
    select user_key, case when bool_or(day is null) then null else min(day) end as replace_from from starts group by user_key`;
}
