/**
 * For per-user models rebuilt for touched users only (marts.user_paths,
 * marts.user_activity_periods): the touched users' rows of an upstream relation, or the
 * whole relation on a full build. One rule with features.user_features, so every
 * per-user model agrees on who is recomputed.
 */
import type { Knex } from 'knex';
import type { DeltaContext, IncrementalContext } from '../models/model-definition.ts';
import { batchArray, touchedUserKeys } from './touched-identities.ts';

type Ref = (name: string) => Knex.Raw;

const IDENTITY_MAP = 'core.user_identity_map';

/**
 * `select user_key ...` of the users the new batches touch (touchedUserKeys): the run's table of them when the
 * runner made one (computed once, and its row count known to the planner, which guessed ~14 users for 2,114),
 * else the query.
 */
export const touchedUsers = (knex: Knex, ref: Ref, incremental: IncrementalContext): string =>
  incremental.touchedUsers ? `select user_key from ${incremental.touchedUsers}` : touchedUserKeys(ref, batchArray(knex, incremental.newBatches));

/**
 * `touched as (...)`, the CTE the rows below read: users the new batches touch. Not materialized when it reads the
 * run's table: each reference then scans the table with its statistics instead of a CTE scan without any.
 */
export const touchedCte = (knex: Knex, ref: Ref, incremental: IncrementalContext) =>
  `touched as ${incremental.touchedUsers ? 'not materialized ' : ''}(${touchedUsers(knex, ref, incremental)})`;

/**
 * The relation's rows of touched users (a subquery over the `touched` CTE, or the CTE named `users`: a subset of
 * them), or the relation. Indexed on user_key: `= any(array(...))`, index lookups; otherwise `in (select ...)`, a
 * hashed semi-join.
 */
export function rowsOfTouched(ref: Ref, relation: string, incremental: IncrementalContext | undefined, indexed: boolean, users = 'touched'): string {
  if (!incremental) return `${ref(relation)}`;
  return `(select * from ${ref(relation)} where user_key ${indexed ? `= any(array(select user_key from ${users}))` : `in (select user_key from ${users})`})`;
}

/**
 * Keys of the model's table that are no longer in core.dim_users (merged into another). Such a key
 * was the key of an identity (a user id, or `anon:` and an anonymous id), which the identity map now
 * keys otherwise (identities never leave it on an incremental build: a revert builds in full), so
 * only those keys are looked up in the table's user_key index: an anti-join of every row against
 * dim_users read the whole table (0.2–0.3 s for marts.user_days' 284k rows at 20k users).
 * The lookups cost ~0.1 s (33k candidate keys), so a table of one row per user keeps the anti-join.
 *
 * With the map's kept changes since the model's version (`delta`, when its deltaFrom names the map),
 * the candidates come from those alone: a key leaves dim_users only when the identities it held moved
 * (a removed row names it) or when an anonymous id stored under `anon:<id>` joined the map (an added row).
 * Every identity the map keys otherwise was 166k candidate lookups at 100k users, ~0.38 s per model in
 * a daily round without a single merge.
 */
export function goneKeys(ref: Ref, incremental: IncrementalContext, delta?: DeltaContext): string {
  const changes = delta?.changes[IDENTITY_MAP];
  const candidates = changes
    ? `select c.user_key from ${changes} c where c.change = 'removed'
            union all
            select k.user_key from ${changes} c, lateral (values (c.identity), ('anon:' || c.identity)) k(user_key) where c.change = 'added'`
    : `select k.user_key from ${ref(IDENTITY_MAP)} m, lateral (values (m.identity), ('anon:' || m.identity)) k(user_key)
            where k.user_key <> m.user_key`;
  return `
    select t.user_key from ${incremental.this} t
    where t.user_key = any(array(
            ${candidates}))
      and not exists (select 1 from ${ref('core.dim_users')} u where u.user_key = t.user_key)`;
}

/**
 * Keys of the model's table that are no longer in core.dim_users, by an anti-join of the whole table: for a table of
 * one row per user (features.user_facts, user_features, user_traits) cheaper than goneKeys' lookups (50–60 ms at 100k users).
 */
export function keysNotInDimUsers(knex: Knex, ref: Ref, incremental: IncrementalContext): Knex.Raw {
  return knex.raw(`select t.user_key from ${incremental.this} t where not exists (select 1 from ${ref('core.dim_users')} u where u.user_key = t.user_key)`);
}

/**
 * staleKeys of such a model: every touched user (their rows are replaced, even when they now
 * have none) and keys no longer in core.dim_users (merged into another).
 */
export function touchedOrGoneKeys(knex: Knex, ref: Ref, incremental: IncrementalContext, delta?: DeltaContext): Knex.Raw {
  return knex.raw(`
    with ${touchedCte(knex, ref, incremental)}
    select user_key from touched
    union${goneKeys(ref, incremental, delta)}`);
}

/**
 * staleKeys of a per-user model whose rows carry a definition hash (funnels, rule facts): touched
 * or merged-away users, and every stored user when `redefined` (a CTE named `redefined` with a
 * boolean column `changed`) says the definitions changed; every stored user when there are none.
 */
export function touchedGoneOrRedefinedKeys(
  knex: Knex, ref: Ref, incremental: IncrementalContext, redefined?: { sql: string; bindings: string[] }, delta?: DeltaContext,
): Knex.Raw {
  const gone = touchedOrGoneKeys(knex, ref, incremental, delta).toQuery();
  if (!redefined) return knex.raw(`select user_key from (${gone}) g union select user_key from ${incremental.this}`);
  return knex.raw(`
      with ${redefined.sql}
      select user_key from (${gone}) g
      union
      select user_key from ${incremental.this} where (select changed from redefined)`, redefined.bindings);
}
