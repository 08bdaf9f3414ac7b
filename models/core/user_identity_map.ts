import { defineModel } from '../../src/models/model-definition.ts';

/*
 * Identity resolution, deterministic whatever the input order:
 * 1. every user id is a node; an alias whose "anonymous" side is itself a user id
 *    (alias from an old user id) joins two users, transitively: the component's
 *    canonical key is its smallest user id;
 * 2. an anonymous id belongs to the user it was first linked to (ties: smallest
 *    user id), so one shared device never merges two people;
 * 3. an anonymous id never linked to a user keeps its own key, prefixed "anon:".
 */
export default defineModel({
  name: 'core.user_identity_map',
  description: 'Maps every user id and anonymous id seen to one canonical user key.',
  owner: 'data-platform',
  tags: ['identity'],
  columns: {
    identity: { type: 'text', description: 'A user id or anonymous id as it appears in sources', tests: ['not_null', 'unique'] },
    identity_type: { type: 'text', description: 'user or anonymous', tests: [{ accepted_values: ['user', 'anonymous'] }] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with recursive user_ids as (
        select user_id from ${ref('staging.stg_users')}
        union select user_id from ${ref('staging.stg_events')} where user_id is not null
        union select user_id from ${ref('staging.stg_identity_links')}
        union select user_id from ${ref('staging.stg_outcomes')} where user_id is not null
      ),
      user_edges as (   -- alias links between two user ids, both directions
        select l.anonymous_id as a, l.user_id as b from ${ref('staging.stg_identity_links')} l join user_ids u on u.user_id = l.anonymous_id
        union select l.user_id, l.anonymous_id from ${ref('staging.stg_identity_links')} l join user_ids u on u.user_id = l.anonymous_id
      ),
      reach (user_id, reachable) as (
        select user_id, user_id from user_ids
        union
        select r.user_id, e.b from reach r join user_edges e on e.a = r.reachable
      ),
      user_keys as (
        select user_id, min(reachable) as user_key from reach group by user_id
      ),
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
      select * from final`),
});
