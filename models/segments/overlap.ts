import { defineModel } from '../../src/models/model-definition.ts';
import { overlapDeltaSql } from '../../src/segments/overlap-delta.ts';

/**
 * Every ordered pair of segments with their sizes and common members. Counted over all members
 * on a first build; afterwards updated by delta (src/segments/overlap-delta.ts): only the users
 * with history rows after `history_through` change the counts, by what they left and entered.
 */
export default defineModel({
  name: 'segments.overlap',
  description: 'Pairwise overlap between segments: members in both, and the Jaccard index |A∩B| / |A∪B|. Every ordered pair of distinct segments, so the table is symmetric.',
  owner: 'data-platform',
  tags: ['segments'],
  readsPrevious: true,
  tests: [{ unique_combination: ['segment_a', 'segment_b'] }],
  columns: {
    segment_a: { type: 'text', description: 'definition:segment', tests: ['not_null'] },
    segment_b: { type: 'text', description: 'definition:segment', tests: ['not_null'] },
    size_a: { type: 'integer', description: 'Members of A', tests: ['not_null'] },
    size_b: { type: 'integer', description: 'Members of B', tests: ['not_null'] },
    in_both: { type: 'integer', description: 'Members of A and B', tests: ['not_null'] },
    jaccard: { type: 'numeric', description: 'in_both / (size_a + size_b - in_both); 0 when both are empty', tests: ['not_null', { expression: 'jaccard between 0 and 1' }] },
    history_through: { type: 'timestamptz', description: 'Newest segments.membership_history change (changed_at) the counts include: the next build adds the changes after it' },
  },
  build: (knex, { ref, previous }) => {
    const membership = ref('segments.membership').toQuery();
    const history = ref('segments.membership_history').toQuery();
    const counted = previous
      ? overlapDeltaSql({ previous: previous.this.toQuery(), membership, history })
      : `
      with members as (select user_key, definition || ':' || segment as seg from ${membership}),
      sizes as (select seg, count(*)::int as n from members group by seg),
      pairs as (
        select a.seg as segment_a, b.seg as segment_b, count(*)::int as in_both
        from members a join members b on a.user_key = b.user_key and a.seg <> b.seg
        group by 1, 2
      )`;
    return knex.raw(`${counted},
      final as (
        select a.seg as segment_a, b.seg as segment_b, a.n as size_a, b.n as size_b, coalesce(p.in_both, 0) as in_both,
               coalesce(coalesce(p.in_both, 0)::numeric / nullif(a.n + b.n - coalesce(p.in_both, 0), 0), 0) as jaccard,
               (select max(changed_at) from ${history}) as history_through
        from sizes a join sizes b on a.seg <> b.seg
        left join pairs p on p.segment_a = a.seg and p.segment_b = b.seg
      )
      select * from final`);
  },
});
