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
  // Tested whole, this view is re-run on every build: points × members rows, growing with each
  // build (100k rows after one, 36M after a year of daily builds). Its key holds exactly when no
  // two non-empty spells of a user and segment (version) overlap — a later spell's entered_at is a
  // recorded point inside the earlier one — which membership_spells tests on the spells each build
  // adds (mutually_exclusive_ranges); its columns come from spells and history, tested not null
  // there. Its own tests run on `seglayer test` and `--full-refresh`.
  testsImpliedBy: ['segments.membership_spells', 'segments.membership_history'],
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
