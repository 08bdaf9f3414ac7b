import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'segments.membership',
  description: 'Current members of every segment, with the reference time of the build at which they (last) entered it.',
  owner: 'data-platform',
  tags: ['segments'],
  tests: [{ unique_combination: ['user_key', 'definition', 'segment'] }],
  // Who is in what, for marts.segment_path_counts' delta: a diff of the published table.
  keepChanges: { columns: ['user_key', 'definition', 'segment'] },
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', { relationships: { to: 'features.user_features', field: 'user_key' } }] },
    definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment (definition name, RFM band or cluster)', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    since: { type: 'timestamptz', description: 'Reference time (core.reference_time) of the build at which the user last entered this segment (version)', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with entries as (
        select user_key, definition, segment, version, max(reference_at) as since
        from ${ref('segments.membership_history')} where change = 'entered' group by 1, 2, 3, 4
      )
      select c.user_key, c.definition, c.segment, c.version, e.since
      from ${ref('segments.current_membership')} c join entries e using (user_key, definition, segment, version)`),
});
