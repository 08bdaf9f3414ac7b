import { defineModel } from '../../src/models/model-definition.ts';
import { usersChangedSince } from '../../src/segments/history-changes.ts';

export default defineModel({
  name: 'segments.transitions',
  description: 'Moves between segments of one definition (e.g. RFM at_risk → loyal), from a build\'s exits and entries for the same user.',
  owner: 'data-platform',
  tags: ['segments'],
  // A user's moves follow from that user's history (and the fits and runs before each move): an incremental build
  // recomputes the users whose history gained rows since the newest move (src/segments/history-changes.ts).
  materialized: 'incremental',
  incremental: { uniqueKey: 'user_key' },
  indexes: [['user_key'], ['moved_at']],
  // Primary key: one row per move of a user between two segments of a definition at a build.
  tests: [{ unique_combination: ['user_key', 'definition', 'from_segment', 'to_segment', 'moved_at'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
    from_segment: { type: 'text', description: 'Segment left', tests: ['not_null'] },
    to_segment: { type: 'text', description: 'Segment entered', tests: ['not_null'] },
    moved_at: { type: 'timestamptz', description: 'Time of the build that saw the move', tests: ['not_null'] },
    cause: {
      type: 'text',
      description:
        'Cluster definitions only: refit when the clusters were refitted since the previous recorded build (cluster_n may now name another group: the move can be the clusters moving, not the user), score when the user was scored against the same fit (their features moved them); null for other definitions',
      tests: [{ accepted_values: ['refit', 'score'] }],
    },
  },
  build: (knex, { ref, incremental }) => {
    const fits = ref('segments.cluster_fit_log').toQuery();
    const history = ref('segments.membership_history').toQuery();
    const changed = incremental ? `\n          and l.user_key = any(array(${usersChangedSince(history, `select max(moved_at) from ${incremental.this.toQuery()}`)}))` : '';
    // A move at moved_at follows a refit when a fit of its definition was made after the previous successful
    // history build (ops.model_runs; builds take a lock, so they do not overlap) and before the move was seen.
    return knex.raw(`
      with moves as (
        select l.user_key, l.definition, l.segment as from_segment, e.segment as to_segment, e.changed_at as moved_at
        from ${history} l
        join ${history} e
          on e.user_key = l.user_key and e.definition = l.definition and e.changed_at = l.changed_at
         and e.change = 'entered' and l.change = 'left' and e.segment <> l.segment${changed}
      ),
      builds as (select distinct m.definition, m.moved_at from moves m where m.definition in (select definition from ${fits})),
      causes as (
        select b.definition, b.moved_at,
               case when exists (
                 select 1 from ${fits} f
                 where f.definition = b.definition and f.fitted_at < b.moved_at
                   and f.fitted_at > coalesce((select max(r.finished_at) from ops.model_runs r
                                               where r.model = 'segments.membership_history' and r.status = 'success' and r.finished_at < b.moved_at), '-infinity')
               ) then 'refit' else 'score' end as cause
        from builds b
      )
      select m.*, c.cause from moves m left join causes c using (definition, moved_at)`);
  },
});
