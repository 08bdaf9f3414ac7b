import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'staging.stg_identity_links',
  description: 'Every observed anonymous_id -> user_id link, from raw.identities (identify / alias) and from events that carry both ids; one row per pair with its first time.',
  owner: 'data-platform',
  tags: ['identity'],
  materialized: 'table', // read three times by core.user_identity_map
  tests: [{ unique_combination: ['anonymous_id', 'user_id'] }],
  columns: {
    anonymous_id: { type: 'text', description: 'Anonymous id (or, for an alias, the previous id)', tests: ['not_null'] },
    user_id: { type: 'text', description: 'User id it belongs to', tests: ['not_null'] },
    first_linked_at: { type: 'timestamptz', description: 'First time the link was observed' },
    link_sources: { type: 'text[]', description: 'Where the link was seen: identify, alias, event, import' },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with declared as (
        select trim(anonymous_id) as anonymous_id, trim(user_id) as user_id, linked_at, coalesce(link_source, 'import') as link_source
        from ${ref('raw.identities')}
      ),
      observed as (
        select anonymous_id, user_id, occurred_at as linked_at, 'event' as link_source
        from ${ref('staging.stg_events')}
        where anonymous_id is not null and user_id is not null
      ),
      final as (
        select anonymous_id, user_id, min(linked_at) as first_linked_at, array_agg(distinct link_source order by link_source) as link_sources
        from (select * from declared union all select * from observed) links
        where anonymous_id <> '' and user_id <> '' and anonymous_id <> user_id
        group by anonymous_id, user_id
      )
      select * from final`),
});
