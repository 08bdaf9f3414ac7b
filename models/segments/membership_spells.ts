import { defineModel } from '../../src/models/model-definition.ts';
import { usersChangedSince } from '../../src/segments/history-changes.ts';

/**
 * segments.membership_history folded into spells: one row per stay of a user in a segment
 * (version), from the reference time of the build that saw them enter to the reference
 * time of the build that saw them leave (null while they are still in). A member as of D
 * is a spell with entered_at <= D and (left_at is null or left_at > D) — the same answer
 * as `segments members --as-of D` (src/segments/membership-as-of.ts). Builds that share
 * a reference time are ordered by their wall clock, as there.
 *
 * A user's spells follow from that user's history alone, so an incremental build refolds only
 * the users whose history gained rows since the table's newest entry (src/segments/history-changes.ts).
 */
export default defineModel({
  name: 'segments.membership_spells',
  description: 'Stays of users in segments, from the reference time they entered to the reference time they left (null: still in); what Cube answers "members as of a date" from.',
  owner: 'data-platform',
  tags: ['segments'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  indexes: [['user_key'], ['entered_recorded_at']],
  tests: [
    { unique_combination: ['user_key', 'definition', 'segment', 'version', 'entered_recorded_at'] },
    // A user is in a segment (version) once at any time: membership_snapshots' key rests on it.
    { mutually_exclusive_ranges: { lower_bound_column: 'entered_at', upper_bound_column: 'left_at', partition_by: ['user_key', 'definition', 'segment', 'version'] } },
  ],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    entered_at: { type: 'timestamptz', description: 'Reference time of the build that saw the user enter', tests: ['not_null'] },
    left_at: { type: 'timestamptz', description: 'Reference time of the build that saw the user leave; null while still a member', tests: [{ expression: 'left_at is null or left_at >= entered_at' }] },
    entered_recorded_at: { type: 'timestamptz', description: 'Wall-clock time of the build that saw the user enter (with the user and segment, the key of a spell)', tests: ['not_null'] },
  },
  build: (knex, { ref, incremental }) => {
    const history = ref('segments.membership_history').toQuery();
    const changed = incremental && usersChangedSince(history, `select max(entered_recorded_at) from ${incremental.this.toQuery()}`);
    return knex.raw(`
      with ordered as (
        select user_key, definition, segment, version, change, reference_at, changed_at,
               lead(change) over w as next_change, lead(reference_at) over w as next_reference_at
        from ${history}${changed ? `
        where user_key = any(array(${changed}))` : ''}
        window w as (partition by user_key, definition, segment, version order by reference_at, changed_at, change = 'entered')
      ),
      final as (
        select user_key, definition, segment, version, reference_at as entered_at,
               case when next_change = 'left' then next_reference_at end as left_at,
               changed_at as entered_recorded_at
        from ordered
        where change = 'entered'
      )
      select * from final`);
  },
});
