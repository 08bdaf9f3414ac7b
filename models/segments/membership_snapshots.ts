import { defineModel } from '../../src/models/model-definition.ts';

/**
 * Membership at every reference time a build recorded a change (the points where a size
 * can move; between two points it stays): one row per point, user and segment. A view
 * over segments.membership_spells, so it costs nothing to store and is read filtered
 * (Cube adds the definition and, for region-scoped tokens, the region).
 */
export default defineModel({
  name: 'segments.membership_snapshots',
  description: 'Who was in each segment at each reference time at which a build recorded a change: segment sizes over time, step by step.',
  owner: 'data-platform',
  tags: ['segments'],
  materialized: 'view',
  // Primary key: a user is in a segment (version) once per point.
  tests: [{ unique_combination: ['reference_at', 'user_key', 'definition', 'segment', 'version'] }],
  columns: {
    reference_at: { type: 'timestamptz', description: 'Reference time of a build that recorded a change', tests: ['not_null'] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with points as (select distinct reference_at from ${ref('segments.membership_history')}),
      final as (
        select p.reference_at, s.user_key, s.definition, s.segment, s.version
        from points p
        join ${ref('segments.membership_spells')} s on s.entered_at <= p.reference_at and (s.left_at is null or s.left_at > p.reference_at)
      )
      select * from final`),
});
