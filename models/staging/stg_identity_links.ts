import { displacedCopies, STAGED_EVENTS } from '../../src/identity/displaced-copies.ts';
import { batchArray } from '../../src/identity/touched-identities.ts';
import type { Knex } from 'knex';
import { defineModel, type DeltaContext } from '../../src/models/model-definition.ts';

type Ref = (name: string) => Knex.Raw;

/**
 * Anonymous ids of the kept copies new batches displaced: a copy they displace takes its observation away. From
 * stg_events' changes (its removed rows carrying both ids), or without them of every earlier copy of the message ids
 * new batches bring (11.5k probes of raw.events a day at 20k users, twice: the build and the stale keys).
 */
const displacedAnonymousIds = (knex: Knex, ref: Ref, newBatches: number[], delta: DeltaContext | undefined) => delta
  ? `select anonymous_id from ${displacedCopies(delta)} d where anonymous_id is not null and user_id is not null`
  : `
  select trim(r.anonymous_id) as anonymous_id from ${ref('raw.events')} r
  where r.message_id in (select n.message_id from ${ref('raw.events')} n where n.load_batch_id = any(${batchArray(knex, newBatches)}))
    and r.load_batch_id <> all(${batchArray(knex, newBatches)}) and trim(r.anonymous_id) <> '' and trim(r.user_id) <> ''`;

/** Anonymous ids whose links new batches can change: those their identify / alias rows and kept event copies carry, and `displaced`. */
const changedAnonymousIds = (knex: Knex, ref: Ref, newBatches: number[]) => `
  select trim(anonymous_id) as anonymous_id from ${ref('raw.identities')} where load_batch_id = any(${batchArray(knex, newBatches)})
  union select anonymous_id from ${ref('staging.stg_events')}
  where load_batch_id = any(${batchArray(knex, newBatches)}) and anonymous_id is not null and user_id is not null
  union select anonymous_id from displaced`;

/*
 * A table, read three times by core.user_identity_map; incremental by anonymous_id. Links
 * only gain observations, so a changed anonymous id's links are its stored ones merged with
 * the new observations (earliest time, union of sources), instead of grouping every staged
 * event carrying both ids. Only a displaced event copy takes an observation away: those
 * anonymous ids (rare; none, and the staged events are not read) are recomputed from all
 * their staged events, and are the staleKeys, so a link whose last observation went away is
 * deleted. A revert rebuilds it in full.
 */
export default defineModel({
  name: 'staging.stg_identity_links',
  description: 'Every observed anonymous_id -> user_id link, from raw.identities (identify / alias) and from events that carry both ids; one row per pair with its first time.',
  owner: 'data-platform',
  tags: ['identity'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'anonymous_id' },
  indexes: [['anonymous_id']], // the key delete, and the identity map's lookups by anonymous id
  tests: [{ unique_combination: ['anonymous_id', 'user_id'] }],
  columns: {
    anonymous_id: { type: 'text', description: 'Anonymous id (or, for an alias, the previous id)', tests: ['not_null'] },
    user_id: { type: 'text', description: 'User id it belongs to', tests: ['not_null'] },
    first_linked_at: { type: 'timestamptz', description: 'First time the link was observed' },
    link_sources: { type: 'text[]', description: 'Where the link was seen: identify, alias, event, import' },
  },
  deltaFrom: [STAGED_EVENTS],
  staleKeys: (knex, { ref, incremental, delta }) => knex.raw(displacedAnonymousIds(knex, ref, incremental!.newBatches, delta)),
  build: (knex, { ref, incremental, delta }) => {
    const batches = incremental && batchArray(knex, incremental.newBatches);
    return knex.raw(`
      with ${incremental ? `displaced as (${displacedAnonymousIds(knex, ref, incremental.newBatches, delta)}),
      changed as (${changedAnonymousIds(knex, ref, incremental.newBatches)}),` : ''}
      declared as (
        select trim(anonymous_id) as anonymous_id, trim(user_id) as user_id, linked_at, coalesce(link_source, 'import') as link_source
        from ${ref('raw.identities')}
        ${incremental ? 'where trim(anonymous_id) in (select anonymous_id from changed)' : ''}
      ),
      observed as (
        select anonymous_id, user_id, occurred_at as linked_at, 'event' as link_source
        from ${ref('staging.stg_events')}
        where anonymous_id is not null and user_id is not null
        ${incremental ? `and load_batch_id = any(${batches})
        union all   -- a displaced id: every observation again
        select anonymous_id, user_id, occurred_at, 'event' from ${ref('staging.stg_events')}
        where anonymous_id in (select anonymous_id from displaced) and user_id is not null
      ),
      kept as (   -- the stored links of the other changed ids, as observations
        select t.anonymous_id, t.user_id, t.first_linked_at as linked_at, s.link_source
        from ${incremental.this} t cross join lateral unnest(t.link_sources) s(link_source)
        where t.anonymous_id = any(array(select anonymous_id from changed))
          and not exists (select 1 from displaced d where d.anonymous_id = t.anonymous_id)` : ''}
      ),
      final as (
        select anonymous_id, user_id, min(linked_at) as first_linked_at, array_agg(distinct link_source order by link_source) as link_sources
        from (select * from declared union all select * from observed${incremental ? ' union all select * from kept' : ''}) links
        where anonymous_id <> '' and user_id <> '' and anonymous_id <> user_id
        group by anonymous_id, user_id
      )
      select * from final`);
  },
});
