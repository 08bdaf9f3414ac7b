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
  },
  build: (knex, { ref }) =>
    knex.raw(`
      select distinct on (a.experiment, coalesce(u.user_key, n.user_key))
             a.experiment, coalesce(u.user_key, n.user_key) as user_key, a.variant, a.assigned_at
      from ${ref('staging.stg_experiment_assignments')} a
      left join ${ref('core.user_identity_map')} u on u.identity = a.user_id
      left join ${ref('core.user_identity_map')} n on n.identity = a.anonymous_id
      where coalesce(u.user_key, n.user_key) is not null
      order by a.experiment, coalesce(u.user_key, n.user_key), a.assigned_at, a.variant, a.user_id, a.anonymous_id`),
});
