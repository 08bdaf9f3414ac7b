import { defineModel } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { TRAIT_SQL } from '../../src/segments/trait-definitions.ts';

/**
 * A function of the project: one column per trait in traits.yml, the latest valid
 * answer to its survey question (ties: the smaller answer). Segment rules read these
 * columns beside features.user_features (segmentFeatures joins them in).
 */
export default (project: ProjectContent) =>
  defineModel({
    name: 'features.user_traits',
    description: 'One row per canonical user with one column per configured trait (traits.yml): the latest answer to its survey question, typed.',
    owner: 'data-platform',
    tags: ['features', 'survey'],
    // traits.yml decides every user's trait values, not only those new survey answers touch.
    reference: true,
    columns: {
      user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique', { relationships: { to: 'core.dim_users', field: 'user_key' } }] },
      ...Object.fromEntries(project.traits.map((t) => [t.name, { type: TRAIT_SQL[t.type].sqlType, description: t.description }])),
    },
    build: (knex, { ref }) => {
      const columns = project.traits.map((t) => {
        const { valid, cast } = TRAIT_SQL[t.type];
        const answer = t.type === 'boolean' ? `(case when lower(answer) in ('true', 'yes') then 'true' else 'false' end)` : 'answer';
        return `((array_agg(${answer} order by responded_at desc, answer) filter (where question = ?${t.survey ? ' and survey = ?' : ''} and ${valid}))[1])${cast} as "${t.name}"`;
      });
      const bindings = project.traits.flatMap((t) => (t.survey ? [t.question, t.survey] : [t.question]));
      return knex.raw(
        `select u.user_key${columns.map((c) => `, ${c}`).join('')}
         from ${ref('core.dim_users')} u left join ${ref('core.user_survey')} s using (user_key)
         group by u.user_key`,
        bindings,
      );
    },
  });
