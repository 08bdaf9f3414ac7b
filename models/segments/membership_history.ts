import { defineModel } from '../../src/models/model-definition.ts';

/**
 * Append-only: each build adds who entered and who left each segment since the
 * previous build. A new definition version counts as leaving the old version and
 * entering the new one. --full-refresh keeps this history.
 */
export default defineModel({
  name: 'segments.membership_history',
  description: 'Every entry into and exit from a segment, one row per change, appended by each build.',
  owner: 'data-platform',
  tags: ['segments'],
  materialized: 'append',
  // Primary key: a membership changes at most once per build.
  tests: [{ unique_combination: ['user_key', 'definition', 'segment', 'version', 'change', 'changed_at'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    change: { type: 'text', description: 'entered or left', tests: ['not_null', { accepted_values: ['entered', 'left'] }] },
    changed_at: { type: 'timestamptz', description: 'Time of the build that saw the change', tests: ['not_null'] },
  },
  build: (knex, { ref, appendTo }) => {
    const current = ref('segments.current_membership');
    if (!appendTo) {
      return knex.raw(`select user_key, definition, segment, version, 'entered'::text as change, now() as changed_at from ${current.toQuery()}`);
    }
    return knex.raw(`
      with latest as (
        select distinct on (user_key, definition, segment, version) user_key, definition, segment, version, change
        from ${appendTo.toQuery()}
        order by user_key, definition, segment, version, changed_at desc, change = 'entered'
      ),
      was as (select user_key, definition, segment, version from latest where change = 'entered'),
      entered as (select * from ${current.toQuery()} except select * from was),
      left_ as (select * from was except select * from ${current.toQuery()}),
      final as (
        select user_key, definition, segment, version, 'entered'::text as change, now() as changed_at from entered
        union all
        select user_key, definition, segment, version, 'left'::text, now() from left_
      )
      select * from final`);
  },
});
