/**
 * What the rows of new load batches touch, for the models that recompute only
 * touched users on an incremental build (core.user_identity_map, core.dim_users,
 * features.user_features). One definition, so those models agree on "touched".
 *
 * SQL fragments (CTE bodies) over the models' own refs; `batches` is the bound
 * array of new batch ids (`incremental.newBatches`). Events are read from
 * staging.stg_events (the kept copies, as the full build reads them), the other
 * sources from raw, cleaned as their staging models clean them.
 */
import type { Knex } from 'knex';

type Ref = (name: string) => Knex.Raw;

/** `?::bigint[]` of the new batches, bound by Knex. */
export const batchArray = (knex: Knex, batches: number[]): Knex.Raw => knex.raw('?::bigint[]', [batches]);

/**
 * identity, is_user_id: every user id or anonymous id a new batch names where the
 * identity map takes ids from (events, identities, users, outcomes), and whether it
 * names it as a user id (an anonymous id may be another one's user id).
 */
export function newBatchIdentities(ref: Ref, batches: Knex.Raw): string {
  return `
    select user_id as identity, true as is_user_id from ${ref('staging.stg_events')} where load_batch_id = any(${batches}) and user_id is not null
    union select anonymous_id, false from ${ref('staging.stg_events')} where load_batch_id = any(${batches}) and anonymous_id is not null
    union select trim(user_id), true from ${ref('raw.identities')} where load_batch_id = any(${batches})
          and trim(anonymous_id) <> '' and trim(user_id) <> '' and trim(anonymous_id) <> trim(user_id)
    union select trim(anonymous_id), false from ${ref('raw.identities')} where load_batch_id = any(${batches})
          and trim(anonymous_id) <> '' and trim(user_id) <> '' and trim(anonymous_id) <> trim(user_id)
    union select trim(user_id), true from ${ref('raw.users')} where load_batch_id = any(${batches}) and nullif(trim(user_id), '') is not null
    union select trim(user_id), true from ${ref('raw.outcomes')} where load_batch_id = any(${batches}) and nullif(trim(user_id), '') is not null`;
}

/**
 * user_key: the canonical keys (as core.user_identity_map resolves them now) of
 * every identity a new batch names, and of every user an anonymous id among
 * them is linked to: an anonymous id that changes hands leaves its previous
 * owner, whose figures change too. Keys that disappeared (merged into another)
 * are not here: models delete them with `staleKeys`.
 */
export function touchedUserKeys(ref: Ref, batches: Knex.Raw): string {
  return `
    with named as (   -- costs name users too (features), though they add none to the identity map
      ${newBatchIdentities(ref, batches)}
      union select trim(user_id), true from ${ref('raw.costs')} where load_batch_id = any(${batches}) and nullif(trim(user_id), '') is not null
    )
    select m.user_key from ${ref('core.user_identity_map')} m where m.identity in (select identity from named)
    union
    select m.user_key from ${ref('staging.stg_identity_links')} l join ${ref('core.user_identity_map')} m on m.identity = l.user_id
    where l.anonymous_id in (select identity from named)`;
}

/**
 * user_key: the users a new survey batch answers for, as the identity map keys them now (survey answers add no
 * identity to the map, so touchedUserKeys leaves them out). core.user_survey and features.user_traits recompute them.
 */
export function surveyBatchUsers(ref: Ref, batches: Knex.Raw): string {
  return `select m.user_key from ${ref('raw.survey_responses')} r join ${ref('core.user_identity_map')} m on m.identity = trim(r.user_id)
  where r.load_batch_id = any(${batches})`;
}
