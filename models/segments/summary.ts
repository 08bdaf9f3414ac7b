import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import type { SegmentDefinition } from '../../src/segments/segment-definition.ts';

/** Every segment a definition can produce, members or not. */
function segmentsOf(definition: SegmentDefinition): string[] {
  if (definition.kind === 'rule') return [definition.name];
  if (definition.kind === 'rfm') return definition.rfm.bands.map((b) => b.name);
  return Array.from({ length: definition.cluster.k }, (_, i) => `cluster_${i + 1}`);
}

/** A function of the project: the segment definitions decide its SQL. */
export default (project: ProjectContent) => defineModel({
  name: 'segments.summary',
  description: 'One row per defined segment: what it is, who owns it, its size and share of users, and whether it is too small to read.',
  owner: 'data-platform',
  tags: ['segments'],
  tests: [{ unique_combination: ['definition', 'segment'] }],
  columns: {
    definition: { type: 'text', description: 'Definition name', tests: ['not_null'] },
    segment: { type: 'text', description: 'Segment', tests: ['not_null'] },
    kind: { type: 'text', description: 'rule, rfm or cluster', tests: ['not_null', { accepted_values: ['rule', 'rfm', 'cluster'] }] },
    family: { type: 'text', description: 'behavioural, demographic, geographic, psychographic or value', tests: ['not_null'] },
    title: { type: 'text', description: 'Title of the definition', tests: ['not_null'] },
    owner: { type: 'text', description: 'Owner', tests: ['not_null'] },
    hypothesis: { type: 'text', description: 'What we expect of the group and how we will know', tests: ['not_null'] },
    version: { type: 'integer', description: 'Definition version', tests: ['not_null'] },
    members: { type: 'integer', description: 'Current members', tests: ['not_null'] },
    share_of_users: { type: 'numeric', description: 'Members / all users in features.user_features', tests: ['not_null'] },
    minimum_size: { type: 'integer', description: 'Configured minimum sample size', tests: ['not_null'] },
    is_too_small: { type: 'boolean', description: 'Fewer members than the minimum: too small to read', tests: ['not_null'] },
  },
  build: (knex, { ref }) => {
    const rows = project.segments.flatMap((d) => segmentsOf(d).map((segment) => [d.name, segment, d.kind, d.family, d.title, d.owner, d.hypothesis, d.version]));
    const values = rows.map(() => '(?, ?, ?, ?, ?, ?, ?, ?::int)').join(', ');
    return knex.raw(
      `
      with defined (definition, segment, kind, family, title, owner, hypothesis, version) as (values ${values}),
      counts as (select definition, segment, count(*)::int as members from ${ref('segments.membership').toQuery()} group by 1, 2),
      total as (select count(*)::numeric as users from ${ref('features.user_features').toQuery()})
      select d.*, coalesce(c.members, 0) as members, coalesce(coalesce(c.members, 0) / nullif(t.users, 0), 0) as share_of_users,
             ?::int as minimum_size, coalesce(c.members, 0) < ? as is_too_small
      from defined d left join counts c using (definition, segment) cross join total t`,
      [...rows.flat(), project.settings.minSegmentSize, project.settings.minSegmentSize],
    );
  },
});
