import { defineModel } from '../../src/models/model-definition.ts';
import { usersChangedSince } from '../../src/segments/history-changes.ts';

/**
 * Current members with the reference time of their (last) entry. A user's rows change only
 * with that user's history (a build that changes current membership records it there), so an
 * incremental build recomputes the users whose history gained rows since the table's newest
 * entry (src/segments/history-changes.ts) and drops those users' rows first (staleKeys: a user
 * who left everything has no row to replace them).
 */
const changedUsers = (history: string, self: string) => usersChangedSince(history, `select max(entered_recorded_at) from ${self}`);

export default defineModel({
  name: 'segments.membership',
  description: 'Current members of every segment, with the reference time of the build at which they (last) entered it.',
  owner: 'data-platform',
  tags: ['segments'],
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  indexes: [['user_key'], ['entered_recorded_at']],
  tests: [{ unique_combination: ['user_key', 'definition', 'segment'] }],
  // Who is in what, for marts.segment_path_counts' delta: a diff of the published table.
  keepChanges: { columns: ['user_key', 'definition', 'segment'] },
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', { relationships: { to: 'features.user_features', field: 'user_key' } }] },
    definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment (definition name, RFM band or cluster)', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    since: { type: 'timestamptz', description: 'Reference time (core.reference_time) of the build at which the user last entered this segment (version)', tests: ['not_null'] },
    entered_recorded_at: { type: 'timestamptz', description: 'Wall-clock time of the last build that saw the user enter this segment (version); what an incremental build reads history after', tests: ['not_null'] },
  },
  staleKeys: (knex, { ref, incremental }) => knex.raw(changedUsers(ref('segments.membership_history').toQuery(), incremental!.this.toQuery())),
  build: (knex, { ref, incremental }) => {
    const history = ref('segments.membership_history').toQuery();
    // `= any(array(...))`: the planner then reads the few users by index; with `in` it guessed thousands and hashed all history.
    const changed = incremental ? `\n          and user_key = any(array(${changedUsers(history, incremental.this.toQuery())}))` : '';
    return knex.raw(`
      with entries as (
        select user_key, definition, segment, version, max(reference_at) as since, max(changed_at) as entered_recorded_at
        from ${history} where change = 'entered'${changed}
        group by 1, 2, 3, 4
      ),
      final as (
        select c.user_key, c.definition, c.segment, c.version, e.since, e.entered_recorded_at
        from ${ref('segments.current_membership')} c join entries e using (user_key, definition, segment, version)
      )
      select * from final`);
  },
});
