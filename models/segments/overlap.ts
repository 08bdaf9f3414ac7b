import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'segments.overlap',
  description: 'Pairwise overlap between segments: members in both, and the Jaccard index |A∩B| / |A∪B|. Every ordered pair of distinct segments, so the table is symmetric.',
  owner: 'data-platform',
  tags: ['segments'],
  tests: [{ unique_combination: ['segment_a', 'segment_b'] }],
  columns: {
    segment_a: { type: 'text', description: 'definition:segment', tests: ['not_null'] },
    segment_b: { type: 'text', description: 'definition:segment', tests: ['not_null'] },
    size_a: { type: 'integer', description: 'Members of A', tests: ['not_null'] },
    size_b: { type: 'integer', description: 'Members of B', tests: ['not_null'] },
    in_both: { type: 'integer', description: 'Members of A and B', tests: ['not_null'] },
    jaccard: { type: 'numeric', description: 'in_both / (size_a + size_b - in_both); 0 when both are empty', tests: ['not_null', { expression: 'jaccard between 0 and 1' }] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with members as (select user_key, definition || ':' || segment as seg from ${ref('segments.membership')}),
      sizes as (select seg, count(*)::int as n from members group by seg),
      pairs as (
        select a.seg as segment_a, b.seg as segment_b, count(*)::int as in_both
        from members a join members b on a.user_key = b.user_key and a.seg <> b.seg
        group by 1, 2
      ),
      final as (
        select a.seg as segment_a, b.seg as segment_b, a.n as size_a, b.n as size_b, coalesce(p.in_both, 0) as in_both,
               coalesce(coalesce(p.in_both, 0)::numeric / nullif(a.n + b.n - coalesce(p.in_both, 0), 0), 0) as jaccard
        from sizes a join sizes b on a.seg <> b.seg
        left join pairs p on p.segment_a = a.seg and p.segment_b = b.seg
      )
      select * from final`),
});
