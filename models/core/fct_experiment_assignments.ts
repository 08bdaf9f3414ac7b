import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'core.fct_experiment_assignments',
  description: 'First exposure of each canonical user to each experiment, whether assigned as a user or before identification.',
  owner: 'data-platform',
  tags: ['experiments'],
  tests: [{ unique_combination: ['experiment', 'user_key'] }],
  columns: {
    experiment: { type: 'text', description: 'Experiment key', tests: ['not_null'] },
    user_key: { type: 'text', description: 'Canonical user key', tests: ['not_null'] },
    variant: { type: 'text', description: 'Variant of the first exposure', tests: ['not_null'] },
    assigned_at: { type: 'timestamptz', description: 'First exposure', tests: ['not_null'] },
    variant_count: { type: 'integer', description: 'Distinct variants this user was assigned under any of their identities; above 1 the user saw two variants and is excluded from analysis (and counted)', tests: ['not_null'] },
  },
  build: (knex, { ref }) =>
    knex.raw(`
      with resolved as (
        select a.experiment, coalesce(u.user_key, n.user_key) as user_key, a.variant, a.assigned_at, a.user_id, a.anonymous_id, a.variants_seen
        from ${ref('staging.stg_experiment_assignments')} a
        left join ${ref('core.user_identity_map')} u on u.identity = a.user_id
        left join ${ref('core.user_identity_map')} n on n.identity = a.anonymous_id
        where coalesce(u.user_key, n.user_key) is not null
      )
      -- One grouped pass over the unnested variants: the first exposure by the same order as
      -- before, and the distinct variants seen under any identity.
      select experiment, user_key,
             (array_agg(variant order by assigned_at, variant, user_id, anonymous_id))[1] as variant,
             min(assigned_at) as assigned_at,
             count(distinct seen)::int as variant_count
      from resolved cross join lateral unnest(variants_seen) as seen
      group by experiment, user_key`),
});
