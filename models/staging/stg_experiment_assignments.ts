import { defineModel } from '../../src/models/model-definition.ts';

export default defineModel({
  name: 'staging.stg_experiment_assignments',
  description: 'First assignment of each subject (user or anonymous id) to each experiment; later re-assignments are ignored; simultaneous ones are decided by content, not load order.',
  owner: 'data-platform',
  tags: ['experiments'],
  // Primary key: the first assignment of each subject to each experiment.
  tests: [{ unique_combination: ['experiment', 'subject_id'] }],
  columns: {
    experiment: { type: 'text', description: 'Experiment key', tests: ['not_null'] },
    variant: { type: 'text', description: 'Variant shown', tests: ['not_null'] },
    user_id: { type: 'text', description: 'User id, when known at assignment' },
    anonymous_id: { type: 'text', description: 'Anonymous id, when assigned before identification' },
    assigned_at: { type: 'timestamptz', description: 'First exposure', tests: ['not_null'] },
    subject_id: { type: 'text', description: 'Who was assigned: the user id, or the anonymous id when the user was not known', tests: ['not_null'] },
    variants_seen: { type: 'text[]', description: 'Every distinct variant this subject was ever assigned, sorted: more than one means the subject saw two variants and experiment analysis excludes it', tests: ['not_null'] },
  },
  // One grouped pass: first exposure and every variant seen per subject come from the same
  // group. (A self-join of ranked rows on experiment + subject was planned as a merge join on
  // experiment alone: with one experiment, 20k × 20k comparisons, 200 s at 20k users.)
  build: (knex, { ref }) =>
    knex.raw(`
      with keyed as (
        select trim(experiment) as experiment, trim(variant) as variant, nullif(trim(user_id), '') as user_id,
               nullif(trim(anonymous_id), '') as anonymous_id, assigned_at
        from ${ref('raw.experiment_assignments')}
        where coalesce(nullif(trim(user_id), ''), nullif(trim(anonymous_id), '')) is not null
      )
      select experiment,
             (array_agg(variant order by assigned_at, variant, user_id, anonymous_id))[1] as variant,
             (array_agg(user_id order by assigned_at, variant, user_id, anonymous_id))[1] as user_id,
             (array_agg(anonymous_id order by assigned_at, variant, user_id, anonymous_id))[1] as anonymous_id,
             min(assigned_at) as assigned_at,
             coalesce(user_id, anonymous_id) as subject_id,
             array_agg(distinct variant order by variant) as variants_seen
      from keyed
      group by experiment, coalesce(user_id, anonymous_id)`),
});
