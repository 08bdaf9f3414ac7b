import type { Knex } from 'knex';
import { batchArray, surveyBatchUsers } from '../../src/identity/touched-identities.ts';
import { keysNotInDimUsers, touchedCte } from '../../src/identity/touched-users-rows.ts';
import { defineModel, type BuildContext, type IncrementalContext } from '../../src/models/model-definition.ts';
import type { ProjectContent } from '../../src/project/project.ts';
import { TRAIT_SQL } from '../../src/segments/trait-definitions.ts';

/**
 * The users whose traits a run recomputes: those the new batches touch (new users get their row, an identity merge
 * moves answers to a touched key, an anonymous id changing hands touches its previous owner) and those a new survey
 * batch answers for. Keys merged away leave by staleKeys.
 */
const recomputedUsers = (knex: Knex, ref: BuildContext['ref'], incremental: IncrementalContext) => `
  with ${touchedCte(knex, ref, incremental)}
  select user_key from touched
  union
  ${surveyBatchUsers(ref, batchArray(knex, incremental.newBatches))}`;

/**
 * A function of the project: one column per trait in traits.yml, the latest valid
 * answer to its survey question (ties: the smaller answer). Segment rules read these
 * columns beside features.user_features (segmentFeatures joins them in).
 * Incremental by user_key: a user's traits follow from their own answers (core.user_survey) alone, so a daily run
 * recomputes the users above, not every user (at 100k users the whole table and its tests were ~1 s of a 30 s round).
 */
export default (project: ProjectContent) =>
  defineModel({
    name: 'features.user_traits',
    description: 'One row per canonical user with one column per configured trait (traits.yml): the latest answer to its survey question, typed.',
    owner: 'data-platform',
    tags: ['features', 'survey'],
    materialized: 'incremental',
    incremental: { uniqueKey: 'user_key' },
    indexes: [['user_key']],
    columns: {
      user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null', 'unique', { relationships: { to: 'core.dim_users', field: 'user_key' } }] },
      ...Object.fromEntries(project.traits.map((t) => [t.name, { type: TRAIT_SQL[t.type].sqlType, description: t.description }])),
    },
    // One row per user: the anti-join of the whole table is cheap (as features.user_facts).
    staleKeys: (knex, { ref, incremental }) => keysNotInDimUsers(knex, ref, incremental!),
    build: (knex, { ref, incremental }) => {
      const columns = project.traits.map((t) => {
        const { valid, cast } = TRAIT_SQL[t.type];
        const answer = t.type === 'boolean' ? `(case when lower(answer) in ('true', 'yes') then 'true' else 'false' end)` : 'answer';
        return `((array_agg(${answer} order by responded_at desc, answer) filter (where question = ?${t.survey ? ' and survey = ?' : ''} and ${valid}))[1])${cast} as "${t.name}"`;
      });
      const bindings = project.traits.flatMap((t) => (t.survey ? [t.question, t.survey] : [t.question]));
      return knex.raw(
        `select u.user_key${columns.map((c) => `, ${c}`).join('')}
         from ${incremental ? `(select d.user_key from ${ref('core.dim_users')} d where d.user_key in (${recomputedUsers(knex, ref, incremental)}))` : ref('core.dim_users')} u
         left join ${ref('core.user_survey')} s using (user_key)
         group by u.user_key`,
        bindings,
      );
    },
  });
