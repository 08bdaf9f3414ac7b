import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'segments.transitions',
  description: 'Moves between segments of one definition (e.g. RFM at_risk → loyal), from a build\'s exits and entries for the same user.',
  owner: 'data-platform',
  tags: ['segments'],
  // Primary key: one row per move of a user between two segments of a definition at a build.
  tests: [{ unique_combination: ['user_key', 'definition', 'from_segment', 'to_segment', 'moved_at'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
    from_segment: { type: 'text', description: 'Segment left', tests: ['not_null'] },
    to_segment: { type: 'text', description: 'Segment entered', tests: ['not_null'] },
    moved_at: { type: 'timestamptz', description: 'Time of the build that saw the move', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      select l.user_key, l.definition, l.segment as from_segment, e.segment as to_segment, e.changed_at as moved_at
      from ${ref('segments.membership_history')} l
      join ${ref('segments.membership_history')} e
        on e.user_key = l.user_key and e.definition = l.definition and e.changed_at = l.changed_at
       and e.change = 'entered' and l.change = 'left' and e.segment <> l.segment`),
});
