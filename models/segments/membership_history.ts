import { defineModel } from '../../src/models/model-definition.ts';

/**
 * Append-only: each build adds who entered and who left each segment since the
 * previous build. A new definition version counts as leaving the old version and
 * entering the new one. --full-refresh keeps this history.
 *
 * Two times per row: `reference_at` is the build's reference time (core.reference_time:
 * the data's clock, what every window was measured to), so "as of D" questions read it
 * and rebuilding the same data on another day records the same history; `changed_at` is
 * the build's wall clock, kept as the order of builds (two builds can share a reference
 * time) and for pollers of `segments changes --since`.
 *
 * What a build appends is current membership's change since the version history last saw:
 * when current_membership's kept changes follow exactly that version (delta maintenance,
 * src/models/model-changes.ts), they are the change (a few hundred rows) and history is not
 * read; otherwise each key's latest change is found in all of history (what `was` below does).
 */
export default defineModel({
  name: 'segments.membership_history',
  description: 'Every entry into and exit from a segment, one row per change, appended by each build, with the build\'s reference time.',
  owner: 'data-platform',
  tags: ['segments'],
  materialized: 'append',
  // What the models folded from history read: the rows after a build time, then those users' rows; and the
  // reference times (snapshot points, whether history reaches back to a date), which otherwise scanned all history.
  indexes: [['changed_at'], ['user_key'], ['reference_at']],
  // Its latest state is current_membership's version it last saw: appending that version's changes keeps it so.
  deltaFrom: ['segments.current_membership'],
  // marts.cohort_retention applies the appended rows (delta maintenance): segments at cohort start.
  keepChanges: { columns: ['user_key', 'reference_at'] },
  // Primary key: a membership changes at most once per build.
  tests: [{ unique_combination: ['user_key', 'definition', 'segment', 'version', 'change', 'changed_at'] }],
  columns: {
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    change: { type: 'text', description: 'entered or left', tests: ['not_null', { accepted_values: ['entered', 'left'] }] },
    changed_at: { type: 'timestamptz', description: 'Wall-clock time of the build that saw the change (orders builds; what `segments changes --since` polls)', tests: ['not_null'] },
    reference_at: { type: 'timestamptz', description: 'Reference time of the build that saw the change (core.reference_time.as_of_at): what membership as of a date reads', tests: ['not_null'] },
  },
  build: (knex, { ref, appendTo, delta }) => {
    const current = ref('segments.current_membership');
    const reference = `(select as_of_at from ${ref('core.reference_time').toQuery()})`;
    const members = `select user_key, definition, segment, version from ${current.toQuery()}`;
    if (!appendTo) {
      return knex.raw(`select user_key, definition, segment, version, 'entered'::text as change, now() as changed_at, ${reference} as reference_at from (${members}) c`);
    }
    if (delta) {
      // Net changes by (user, definition, segment, version): a key is added or removed at most once.
      return knex.raw(`
      select user_key, definition, segment, version, case change when 'added' then 'entered' else 'left' end::text as change, now() as changed_at, ${reference} as reference_at
      from ${delta.changes['segments.current_membership']!.toQuery()}`);
    }
    return knex.raw(`
      with latest as (
        select distinct on (user_key, definition, segment, version) user_key, definition, segment, version, change
        from ${appendTo.toQuery()}
        order by user_key, definition, segment, version, changed_at desc, change = 'entered'
      ),
      was as (select user_key, definition, segment, version from latest where change = 'entered'),
      changed as (   -- one full join finds both sides (two hashed EXCEPTs over all members took twice as long)
        select user_key, definition, segment, version, case when w.user_key is null then 'entered' else 'left' end::text as change
        from (${members}) c full join was w using (user_key, definition, segment, version)
        where c.user_key is null or w.user_key is null
      ),
      final as (
        select user_key, definition, segment, version, change, now() as changed_at, ${reference} as reference_at from changed
      )
      select * from final`);
  },
});
