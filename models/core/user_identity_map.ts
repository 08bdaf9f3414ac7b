import { batchArray, newBatchIdentities } from '../../src/identity/touched-identities.ts';
import type { Knex } from 'knex';
import { defineModel } from '../../src/models/model-definition.ts';

/*
 * Identity resolution, deterministic whatever the input order:
 * 1. every user id is a node; an alias whose "anonymous" side is itself a user id
 *    (alias from an old user id) joins two users, transitively: the component's
 *    canonical key is its smallest user id;
 * 2. an anonymous id belongs to the user it was first linked to (ties: smallest
 *    user id), so one shared device never merges two people;
 * 3. an anonymous id never linked to a user keeps its own key, prefixed "anon:".
 *
 * Incremental by identity: a build after new batches re-resolves only what they can
 * change: the user ids they name or link to, closed over alias edges (whole
 * components, so a merge re-keys every member), and the anonymous ids they name or
 * that are linked to those users. Links only ever join (a revert rebuilds fully), so
 * nothing else changes key. Whether an id is a user id is what the published map
 * says, or what a new batch says.
 */
export default defineModel({
  name: 'core.user_identity_map',
  description: 'Maps every user id and anonymous id seen to one canonical user key.',
  owner: 'data-platform',
  tags: ['identity'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'identity' },
  indexes: [['identity'], ['user_key']],
  // Identities whose key changed in a run, for core.fct_costs to re-key its lines (deltaFrom).
  keepChanges: { columns: ['identity', 'user_key'] },
  columns: {
    identity: { type: 'text', description: 'A user id or anonymous id as it appears in sources', tests: ['not_null', 'unique'] },
    identity_type: { type: 'text', description: 'user or anonymous', tests: [{ accepted_values: ['user', 'anonymous'] }] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
  },
  build: (knex, { ref, incremental }) => (incremental ? touchedMap(knex, ref, incremental.this, incremental.newBatches) : fullMap(knex, ref)),
});

/** Alias links between two user ids (both in user_ids), both directions. */
const edges = (links: Knex.Raw) => `
        select l.anonymous_id as a, l.user_id as b from ${links} l join user_ids u on u.user_id = l.anonymous_id
        union select l.user_id, l.anonymous_id from ${links} l join user_ids u on u.user_id = l.anonymous_id`;

/** user_edges: the edges as a CTE. */
const userEdges = (links: Knex.Raw) => `user_edges as (${edges(links)}
      )`;

/*
 * For the touched map, CTEs the recursion starts from or joins are grouped: the planner then
 * estimates them by its default number of distinct values. Estimated as the sum of their union's
 * inputs, the recursive union over them came to 537M rows (2k real at 20k users), and every hash
 * and union sized for that (up to work_mem each) took 5.6 s of the model's 5.6 s.
 */
const grouped = (columns: string, union: string) => `select ${columns} from (${union}) g group by ${columns}`;

/** user_keys: each user id of `from` keyed by the smallest user id it reaches through user_edges (one rule for full and incremental builds). */
const userKeys = (from: string) => `reach (user_id, reachable) as (
        select user_id, user_id from ${from}
        union
        select r.user_id, e.b from reach r join user_edges e on e.a = r.reachable
      ),
      user_keys as (
        select user_id, min(reachable) as user_key from reach group by user_id
      )`;

function fullMap(knex: Knex, ref: (name: string) => Knex.Raw) {
  return knex.raw(`
      with recursive user_ids as (
        select user_id from ${ref('staging.stg_users')}
        union select user_id from ${ref('staging.stg_events')} where user_id is not null
        union select user_id from ${ref('staging.stg_identity_links')}
        union select user_id from ${ref('staging.stg_outcomes')} where user_id is not null
      ),
      ${userEdges(ref('staging.stg_identity_links'))},
      ${userKeys('user_ids')},
      anonymous_owner as (
        select distinct on (l.anonymous_id) l.anonymous_id, k.user_key
        from ${ref('staging.stg_identity_links')} l
        join user_keys k on k.user_id = l.user_id
        where not exists (select 1 from user_ids u where u.user_id = l.anonymous_id)
        order by l.anonymous_id, l.first_linked_at nulls last, l.user_id
      ),
      unlinked_anonymous as (
        select distinct anonymous_id from ${ref('staging.stg_events')} e
        where anonymous_id is not null and not exists (select 1 from anonymous_owner o where o.anonymous_id = e.anonymous_id)
          and not exists (select 1 from user_ids u where u.user_id = e.anonymous_id)
      ),
      final as (
        select user_id as identity, 'user' as identity_type, user_key from user_keys
        union all select anonymous_id, 'anonymous', user_key from anonymous_owner
        union all select anonymous_id, 'anonymous', 'anon:' || anonymous_id from unlinked_anonymous
      )
      select * from final`);
}

function touchedMap(knex: Knex, ref: (name: string) => Knex.Raw, published: Knex.Raw, newBatches: number[]) {
  const links = ref('staging.stg_identity_links');
  return knex.raw(`
      with recursive named as (${newBatchIdentities(ref, batchArray(knex, newBatches))}),
      user_ids as (   -- user ids among the ids that matter: published as such, or named so by a new batch
        select identity as user_id from named where is_user_id
        union select p.identity from ${published} p
        where p.identity_type = 'user'
          and (p.identity in (select identity from named) or p.identity in (select anonymous_id from ${links}))
      ),
      seeds as (   -- user ids a new batch names, and the users its ids are linked to
        ${grouped('user_id', `
        select user_id from user_ids where user_id in (select identity from named)
        union select l.user_id from ${links} l where l.anonymous_id in (select identity from named)
        union select l.anonymous_id from ${links} l join user_ids u on u.user_id = l.anonymous_id where l.user_id in (select identity from named)`)}
      ),
      user_edges as (${grouped('a, b', edges(links))}),
      reached (user_id) as (   -- every user id joined to a seed by aliases
        select user_id from seeds
        union select e.b from reached r join user_edges e on e.a = r.user_id
      ),
      component (user_id) as (${grouped('user_id', 'select user_id from reached')}),
      ${userKeys('component')},
      anonymous_ids as (   -- named by a new batch, or linked to a re-keyed user
        select identity as anonymous_id from named where not is_user_id
        union select l.anonymous_id from ${links} l join component c using (user_id)
      ),
      candidates as (
        select a.anonymous_id from anonymous_ids a
        where not exists (select 1 from user_ids u where u.user_id = a.anonymous_id)
          and not exists (select 1 from component c where c.user_id = a.anonymous_id)
          and not exists (select 1 from ${published} p where p.identity = a.anonymous_id and p.identity_type = 'user')
      ),
      anonymous_owner as (
        select distinct on (l.anonymous_id) l.anonymous_id, coalesce(k.user_key, p.user_key) as user_key
        from ${links} l
        join candidates c using (anonymous_id)
        left join user_keys k on k.user_id = l.user_id
        left join ${published} p on p.identity = l.user_id
        order by l.anonymous_id, l.first_linked_at nulls last, l.user_id
      ),
      final as (
        select user_id as identity, 'user' as identity_type, user_key from user_keys
        union all select anonymous_id, 'anonymous', user_key from anonymous_owner
        union all select anonymous_id, 'anonymous', 'anon:' || anonymous_id from candidates c
        where not exists (select 1 from anonymous_owner o where o.anonymous_id = c.anonymous_id)
      )
      select * from final`);
}
